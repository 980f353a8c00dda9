"""Small htmx helpers: detect htmx requests, render a page or one of its blocks."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, make_response, request
from jinja2_fragments.flask import render_block


def is_htmx() -> bool:
    """True for a request made by htmx (but not a boosted full navigation)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted")


def render(template: str, block: str | None = None, status: int = 200, **context: Any) -> Response:
    """Render the whole page, or only ``block`` for an htmx request. Adds ``Vary: HX-Request``."""
    from flask import render_template

    body = render_block(template, block, **context) if block and is_htmx() else render_template(
        template, **context
    )
    resp = make_response(body, status)
    resp.headers.add("Vary", "HX-Request")
    return resp


def trigger(resp: Response, event: str, detail: Any = None) -> Response:
    """Add an ``HX-Trigger`` event to a response."""
    resp.headers["HX-Trigger"] = json.dumps({event: detail if detail is not None else True})
    return resp


def stop_polling(resp: Response) -> Response:
    """Status 286 tells htmx to stop polling this element."""
    resp.status_code = 286
    return resp
