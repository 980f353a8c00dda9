"""The prospect's page, ``/r/<token>``, and the files bound to its token (screenshots, the
agency logo, the PDF). No sign-in; the token is the only key. Unknown, malformed, revoked
and expired tokens all get the same 404 after the same work; a flood of misses from one
address is rate limited (a prospect with a good link never counts against it)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import logging
import threading
import time
import unicodedata
from collections import OrderedDict
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.exc import OperationalError
from werkzeug.wsgi import wrap_file

from app import ratelimit
from app.access import public
from app.extensions import db
from app.files.queries import get_file_or_404, open_file_or_404
from app.models import Audit, PublicLink
from app.public import operations, queries
from app.security import public_headers
from app.settings.queries import AGENCY_DEFAULTS
from app.settings.validation import SettingsError, normalize_colour

log = logging.getLogger(__name__)
bp = Blueprint("public", __name__)
#: Misses (unknown, revoked, expired tokens) one address may make per minute.
MISS_LIMIT, MISS_WINDOW = 30, 60
#: Screenshots and the logo: cached long (their names never change meaning within one
#: published version), privately (a revoked link must not live on in a shared cache).
IMAGE_CACHE = "private, max-age=2592000, immutable"
INTERNAL = "pitchfast.internal_print"


def brand_style(agency: dict[str, Any]) -> tuple[str, str]:
    """The one inline style (the brand colour) and its CSP hash."""
    try:
        colour = normalize_colour(str(agency.get("brand_colour") or ""))
    except SettingsError:
        colour = str(AGENCY_DEFAULTS["brand_colour"])
    css = f":root{{--brand:{colour};--on-brand:{on_colour(colour)}}}"
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return css, digest


def on_colour(colour: str) -> str:
    """Black or white, whichever reads better on ``#rrggbb`` (WCAG relative luminance)."""
    def channel(hex2: str) -> float:
        c = int(hex2, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i:i + 2]) for i in (1, 3, 5))
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#111111" if (lum + 0.05) / 0.05 > 1.05 / (lum + 0.05) else "#ffffff"


def writing() -> None:
    """The next transaction of this GET writes: begin it IMMEDIATE (app.database), so it
    waits for the write lock instead of failing half-way when a worker writes too."""
    db.session.rollback()
    g.db_reads_only = False
    g.db_writes = True


def not_found(token: str | None = None) -> Response:
    """The one answer for every link that does not open a page. A well-formed token that
    opens nothing is counted against the address (guessing needs well-formed tokens);
    anything malformed could never match and costs no write."""
    status = 404
    retry_after = 0
    if token is not None and queries.TOKEN_RE.fullmatch(token):
        limit = int(current_app.config.get("PUBLIC_MISS_LIMIT_PER_MINUTE") or MISS_LIMIT)
        key = f"public-miss:{ratelimit.client_address()}"
        # Read first: an address already over its budget is answered without the write
        # lock (a flood of dead tokens must not queue every request behind SQLite's one
        # writer); only a miss that may be counted writes, and re-checks under the lock.
        decision = queries.miss_budget(key, limit=limit, window=MISS_WINDOW)
        if decision.allowed:
            writing()
            decision = ratelimit.hit(key, limit=limit, window=MISS_WINDOW)
            db.session.commit()
        elif db.session().in_transaction():
            db.session.rollback()
        status, retry_after = (404, 0) if decision.allowed else (429, decision.retry_after)
    resp = Response(render_template("public/not_found.html", status=status), status=status,
                    mimetype="text/html")
    if retry_after:
        resp.headers["Retry-After"] = str(retry_after)
    return public_headers(resp)


def _live(token: str) -> PublicLink | None:
    return queries.link_for_token(token)


def countable() -> bool:
    """A real person's view: not HEAD, a prefetch, a bot or scanner, our own PDF printer,
    or signed-in staff."""
    if request.method != "GET" or request.environ.get(INTERNAL):
        return False
    purpose = (request.headers.get("Sec-Purpose", "") + request.headers.get("Purpose", ""))
    if "prefetch" in purpose.lower() or "prerender" in purpose.lower():
        return False
    if queries.looks_like_bot(request.headers.get("User-Agent", "")):
        return False
    return not ("session" in request.cookies and current_user.is_authenticated)


#: (link id, visitor) → when this process last saw them counted: a returning visitor within
#: the half hour costs no database work (the database stays the truth on a miss).
_SEEN_MAX = 20_000


def _count_view(resp: Response, link_id: int, lead_id: int) -> None:
    """Count this view once the page has been sent (``call_on_close``): one short write
    of its own, in a fresh app context, so a busy database can delay or lose a view
    count, never the page."""
    visitor = queries.visitor_key(link_id, ratelimit.client_address(),
                                  request.headers.get("User-Agent", ""))
    now = time.monotonic()
    seen_views: dict[tuple[int, str], float] = current_app.extensions.setdefault(
        "public_seen", {})
    seen = seen_views.get((link_id, visitor))
    if seen is not None and now - seen < operations.VIEW_WINDOW.total_seconds():
        return
    if len(seen_views) > _SEEN_MAX:
        seen_views.clear()
    seen_views[(link_id, visitor)] = now
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def count() -> None:
        with app.app_context():  # outside a request: the transaction begins IMMEDIATE
            try:
                if queries.recently_emailed(lead_id):
                    return
                link = db.session.get(PublicLink, link_id)
                if link is not None:
                    operations.record_view(link, visitor=visitor)
                    db.session.commit()
            except OperationalError:
                db.session.rollback()
                seen_views.pop((link_id, visitor), None)
                log.warning("view of public link %s not counted: database busy", link_id)

    resp.call_on_close(count)


def render_html(view: dict[str, Any], *, image: Any, logo: str | None, pdf: str | None,
                preview: bool = False) -> tuple[str, str]:
    """(HTML, CSP hash of its one style): the page as the prospect sees it (the staff
    preview uses the same template)."""
    agency = queries.agency_profile()
    css, digest = brand_style(agency)
    html = render_template("public/page.html", v=view, agency=agency, image=image,
                           logo_url=logo, pdf_url=pdf, brand_css=css, preview=preview)
    return html, digest


def render_page(view: dict[str, Any], *, image: Any, logo: str | None, pdf: str | None,
                preview: bool = False) -> Response:
    html, digest = render_html(view, image=image, logo=logo, pdf=pdf, preview=preview)
    return public_headers(compressed(Response(html, mimetype="text/html")), (digest,))


class PageCache:
    """Rendered pages (raw and gzipped), keyed by everything they are made from: the
    link's id, version, audit and publish time, and the agency's public details. The key is
    read from the database on every request, so a revoked, rotated or re-published link
    never meets a stale entry; the cache only skips re-rendering the same page."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.items: OrderedDict[Any, tuple[bytes, bytes, str]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Any) -> tuple[bytes, bytes, str] | None:
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
            return found

    def put(self, key: Any, value: tuple[bytes, bytes, str]) -> None:
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)


def _pages() -> PageCache:
    """This app's page cache (one per app, so tests and several apps never share one)."""
    cache: PageCache = current_app.extensions.setdefault("public_pages", PageCache())
    return cache


def compressed(resp: Response, packed: bytes | None = None) -> Response:
    """gzip the body when the client takes it (the page and its CSS are text; a proxy in
    front may do this too, but the page must be light even without one)."""
    resp.vary.add("Accept-Encoding")
    if "gzip" not in request.headers.get("Accept-Encoding", "").lower():
        return resp
    body = resp.get_data()
    if len(body) < 1024:
        return resp
    resp.set_data(packed if packed is not None else gzip.compress(body, 6, mtime=0))
    resp.headers["Content-Encoding"] = "gzip"
    return resp


@bp.get("/r/<token>")
@public
def page(token: str) -> ResponseReturnValue:
    live = queries.live_link_for_token(token)
    if live is None:
        return not_found(token)
    agency = queries.agency_profile()
    key = (live, tuple(sorted(agency.items())))
    entry = _pages().get(key) if not current_app.debug else None
    if entry is None:
        link = db.session.get(PublicLink, live.id)
        view = queries.page_view(link) if link else None
        if view is None:
            return not_found(token)
        html, digest = render_html(
            view, image=lambda name: url_for(".shot", token=token, name=name),
            logo=url_for(".logo", token=token) if agency["has_logo"] else None,
            pdf=url_for(".pdf", token=token))
        raw = html.encode()
        entry = (raw, gzip.compress(raw, 6, mtime=0), digest)
        _pages().put(key, entry)
    link_id, lead_id = live.id, live.lead_id
    if db.session().in_transaction():
        db.session.rollback()  # the read ends here; the view is counted in its own write
    resp = Response(entry[0], mimetype="text/html")
    resp = public_headers(compressed(resp, entry[1]), (entry[2],))
    if countable():
        _count_view(resp, link_id, lead_id)
    return resp


def _serve(key: str, cache: str) -> Response:
    row = get_file_or_404(key)
    if row.checksum in request.if_none_match:
        resp = Response(status=304)
    else:
        resp = Response(wrap_file(request.environ, open_file_or_404(row)),
                        content_type=row.content_type, direct_passthrough=True)
        resp.content_length = row.size
    resp.set_etag(row.checksum)
    resp.headers["Cache-Control"] = cache
    return public_headers(resp)


@bp.get("/r/<token>/s/<name>")
@public
def shot(token: str, name: str) -> ResponseReturnValue:
    link = _live(token)
    audit = db.session.get(Audit, link.audit_id) if link and link.audit_id else None
    meta = queries.shot_for(link, audit, name) if link and audit else None
    if meta is None:
        return not_found(token)
    return _serve(str(meta["key"]), IMAGE_CACHE)


@bp.get("/r/<token>/logo")
@public
def logo(token: str) -> ResponseReturnValue:
    link = _live(token)
    key = queries.agency_profile().get("logo_file") if link else None
    if not key:
        return not_found(token)
    return _serve(str(key), "private, max-age=3600")


@bp.get("/r/<token>/pdf")
@public
def pdf(token: str) -> ResponseReturnValue:
    link = _live(token)
    if link is None:
        return not_found(token)
    state = operations.pdf_state(link)
    if state == "ready" and link.pdf_key:
        resp = _serve(link.pdf_key, "private, max-age=3600")
        attachment(resp, f"{(link.frozen or {}).get('business_name') or 'audit'}")
        return resp
    if state == "failed":
        # The last print of this version gave up: no new run from a public link (anyone
        # holding it could queue browser prints), and no page that reloads itself.
        return _pdf_page("public/pdf_unavailable.html", token, retry=False)
    if state is None:
        # Never asked for (bulk published, or a new version): queue it once; a pending
        # run is left alone without taking the write lock on every reload.
        link_id = link.id
        writing()
        locked = db.session.get(PublicLink, link_id)
        if locked is not None:
            operations.request_pdf(locked, after_failure=False)
        db.session.commit()
    return _pdf_page("public/pdf_pending.html", token, retry=True)


def _pdf_page(template: str, token: str, *, retry: bool) -> Response:
    if db.session().in_transaction():
        db.session.rollback()
    resp = Response(render_template(template, back=url_for(".page", token=token)),
                    status=503, mimetype="text/html")
    if retry:
        resp.headers["Retry-After"] = "10"
    return public_headers(resp)


def attachment(resp: Response, business_name: str) -> None:
    """``Content-Disposition: attachment`` named after the business, safe for any name: a
    plain ASCII ``filename`` and, when the name is not ASCII, ``filename*`` in UTF-8
    (RFC 6266, as werkzeug's ``send_file(download_name=...)`` writes it)."""
    name = "".join(c for c in business_name if c.isalnum() or c in " -")[:60].strip()
    full = f"{name or 'audit'} - website audit.pdf"
    simple = unicodedata.normalize("NFKD", full).encode("ascii", "ignore").decode("ascii")
    simple = " ".join(simple.split())
    if simple.startswith("- "):
        simple = "audit " + simple
    if simple == full:
        resp.headers.set("Content-Disposition", "attachment", filename=full)
    else:
        resp.headers.set("Content-Disposition", "attachment", filename=simple,
                         **{"filename*": "UTF-8''" + quote(full, safe="!#$&+^`|~")})


@bp.get("/r/<path:rest>")
@public
def other(rest: str) -> ResponseReturnValue:
    """Anything else under /r/ (slashes, traversal, extra parts): the same 404."""
    return not_found()


#: The page's own files, under versioned names (cached for a year, never revalidated).
ASSETS = {"css": ("css/public.css", "text/css"), "svg": ("favicon.svg", "image/svg+xml")}
_ASSET_CACHE: dict[str, tuple[str, bytes, bytes]] = {}


def asset(kind: str) -> tuple[str, bytes, bytes]:
    """(version, bytes, gzipped bytes) of one of the page's files, read once per process."""
    if kind not in _ASSET_CACHE or current_app.debug:
        path = Path(current_app.static_folder or "") / ASSETS[kind][0]
        data = path.read_bytes()
        _ASSET_CACHE[kind] = (hashlib.sha256(data).hexdigest()[:12], data,
                              gzip.compress(data, 9, mtime=0))
    return _ASSET_CACHE[kind]


@bp.app_template_global("public_asset_url")
def public_asset_url(kind: str) -> str:
    return url_for("public.asset_file", version=asset(kind)[0], kind=kind)


@bp.get("/p/<version>.<kind>")
@public
def asset_file(version: str, kind: str) -> ResponseReturnValue:
    if kind not in ASSETS:
        return not_found()
    current, data, packed = asset(kind)
    resp = compressed(Response(data, mimetype=ASSETS[kind][1]), packed)
    resp.headers["Cache-Control"] = ("public, max-age=31536000, immutable" if version == current
                                     else "no-cache")
    return public_headers(resp)


@bp.errorhandler(404)
def _gone(_exc: Exception) -> ResponseReturnValue:
    """A 404 raised anywhere on a public route (a NUL in the path, a missing file) is the
    same clean page as every dead link."""
    return not_found()
