"""Small htmx helpers: detect htmx requests, render a page or one of its blocks, say what a
response varies on, trigger client events, stop polling."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, make_response, render_template, request
from jinja2_fragments.flask import render_block

#: Request headers a page's response depends on: an htmx swap gets a block; a boosted
#: navigation and a history restore (Back/Forward) get the whole page.
VARY = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request")


def is_htmx() -> bool:
    """True for a request htmx makes to swap part of a page: not a boosted navigation and
    not a history restore (``HX-History-Restore-Request``: Back or Forward after htmx
    pushed the URL), which both replace the whole page and so get the whole page."""
    headers = request.headers
    return (headers.get("HX-Request") == "true" and not headers.get("HX-Boosted")
            and headers.get("HX-History-Restore-Request") != "true")


def vary(resp: Response) -> Response:
    """Add the htmx request headers to ``Vary`` (once each), so no cache hands a block to a
    full-page request or the other way round."""
    for name in VARY:
        resp.vary.add(name)  # one merged header (Flask's session adds Cookie the same way)
    return resp


def render(template: str, block: str | None = None, status: int = 200, **context: Any) -> Response:
    """Render the whole page, or only ``block`` for an htmx swap (see :func:`is_htmx`)."""
    if block and is_htmx():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    return vary(make_response(body, status))


def trigger(resp: Response, event: str, detail: Any = None) -> Response:
    """Add an ``HX-Trigger`` event to a response."""
    resp.headers["HX-Trigger"] = json.dumps({event: detail if detail is not None else True})
    return resp


def stop_polling(resp: Response) -> Response:
    """Status 286 tells htmx to stop polling this element."""
    resp.status_code = 286
    return resp


def _vary_pages(resp: Response) -> Response:
    # Pages, redirects and error pages may all depend on the htmx headers (a block for a
    # swap, a redirect for a full request, a short error message for a swap): say so on
    # every one, not only on those rendered through :func:`render`. Files and static assets
    # never do.
    if request.endpoint and (request.endpoint == "static" or request.endpoint.startswith("files.")):
        return resp
    return vary(resp)


def init_app(app: Flask) -> None:
    """Mark every page response with ``Vary`` on the htmx headers."""
    app.after_request(_vary_pages)
