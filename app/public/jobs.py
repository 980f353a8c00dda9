"""The "public_pdf" run kind: the public page printed to PDF, once per published version.

1. (fenced) the link is still live at the version the run was made for, else nothing to do;
2. no transaction open: the page and its CSS (``/p/<hash>.css``) and images are fetched
   through the app itself (an in-process WSGI call marked as internal, so it counts no
   view), then printed by the worker's shared Chromium (:mod:`app.public.printing`);
3. (fenced) the PDF is stored through :mod:`app.storage` and the link points at it; the
   previous version's PDF is removed once that commits.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

from flask import current_app

from app import storage
from app.extensions import db
from app.jobs import registry
from app.jobs.context import RunContext
from app.models import PublicLink
from app.public.operations import PDF_KIND, pdf_key
from app.public.queries import is_live, token_for

log = logging.getLogger(__name__)
#: The WSGI environ key that marks the worker's own fetch of a page (never an HTTP header,
#: so no client can set it): no view is counted, no rate limit applies.
INTERNAL = "pitchfast.internal_print"
Resource = tuple[bytes, str]
#: Same-site files the page uses: its images (/r/...), its stylesheet and icon (/p/...).
_REFS = re.compile(r'(?:src|href)="(/(?:r|p|static)/[^"#]+)"')


def _fetch(path: str) -> Resource | None:
    client = current_app.test_client()
    resp = client.get(path, environ_overrides={INTERNAL: True})
    if resp.status_code != 200:
        return None
    return resp.get_data(), resp.content_type or "application/octet-stream"


def page_resources(token: str) -> tuple[str, dict[str, Resource]]:
    """The page's path and every same-site file it references, fetched in-process."""
    path = f"/r/{token}?print=1"
    page = _fetch(path)
    if page is None:
        raise LookupError("the public page did not render")
    resources = {path: page}
    for ref in sorted(set(_REFS.findall(page[0].decode("utf-8", "replace"))))[:60]:
        ref = ref.replace("&amp;", "&")
        found = _fetch(ref)
        if found is not None:
            resources[ref] = found
    return path, resources


def _current(ctx: RunContext) -> PublicLink | None:
    link = db.session.get(PublicLink, ctx.subject_id)
    version = ctx.payload.get("version")
    if link is None or not is_live(link) or link.version != version:
        return None
    return link


@registry.handler(PDF_KIND)
def make_pdf(ctx: RunContext) -> dict[str, Any]:
    """Print the link's page for the version in the payload and store it."""
    with ctx.fenced():
        link = _current(ctx)
        token = token_for(link) if link else None
        done = link is not None and link.pdf_key == pdf_key(link) and \
            link.pdf_version == link.version
    if token is None or done:
        return {"skipped": "already made" if done else "link no longer live at this version"}
    path, resources = page_resources(token)
    db.session.rollback()  # nothing open across the browser call

    # Imported here: the web process imports this module and must never load Playwright.
    from app.audits.engine.runner import config_from_mapping, get_engine
    from app.public.printing import print_pdf

    engine = get_engine(config_from_mapping(current_app.config))
    pdf = engine.with_browser(functools.partial(print_pdf, path=path, resources=resources),
                              timeout=60)
    with ctx.fenced():
        link = _current(ctx)
        if link is None:
            ctx.complete({"skipped": "link changed while printing"})
            return {}
        key = pdf_key(link)
        storage.save(key, pdf, "application/pdf", owner=("public_link", link.id))
        if link.pdf_key and link.pdf_key != key:
            storage.delete_on_commit(link.pdf_key)
        link.pdf_key, link.pdf_version = key, link.version
        ctx.complete({"key": key, "bytes": len(pdf), "files": len(resources)})
    ctx.log(f"printed {len(pdf)} bytes from {len(resources)} files")
    return {}
