"""Response headers: CSP without inline script, nosniff, frame-ancestors, referrer policy,
HSTS over HTTPS, and no caching of pages (they hold private data)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from typing import Any

from flask import Response, current_app, request

from app.config import SECRET_KEYS
from app.untrusted import mask_urls

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
#: Prospect-facing pages (``/r/<token>``): no script at all, nothing from anywhere else.
PUBLIC_CSP = (
    "default-src 'none'; style-src 'self'{styles}; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def public_headers(resp: Response, style_hashes: tuple[str, ...] = ()) -> Response:
    """Headers of every public-page response (page, images, PDF, its 404): a strict CSP
    (inline styles only by hash), never indexed, no referrer sent to the links it holds."""
    styles = "".join(f" 'sha256-{h}'" for h in style_hashes)
    resp.headers["Content-Security-Policy"] = PUBLIC_CSP.format(styles=styles)
    resp.headers["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def add_headers(resp: Response) -> Response:
    """``after_request`` hook setting the security headers on every response."""
    h = resp.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Permissions-Policy", PERMISSIONS)
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    https = str(current_app.config.get("PUBLIC_BASE_URL", "")).startswith("https://")
    if request.is_secure or https:
        h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if resp.mimetype == "text/html" and "Cache-Control" not in h:
        h["Cache-Control"] = "no-store"
    return resp


_LOG_SECRETS: set[str] = set()
_factory_installed = False


def _scrub(text: str) -> str:
    """``text`` without configured secret values, and with URL credentials masked."""
    for value in _LOG_SECRETS:
        text = text.replace(value, "***")
    return mask_urls(text)


def install_log_redaction(config: Mapping[str, Any]) -> None:
    """Make every log record (from any logger, any thread) drop the configured secret values
    and mask the credentials of any URL in it (:func:`app.untrusted.mask_urls`).

    Defence in depth behind ``app.jobs.redact``: even a careless ``log.warning(str(exc))``
    cannot write the SMTP password, the secret key or ``redis://:password@…`` to the logs,
    and code that may not import the app (the audit engine) has its URLs masked too.
    """
    global _factory_installed
    for key in SECRET_KEYS:
        value = config.get(key)
        if value and len(str(value)) >= 6:
            _LOG_SECRETS.add(str(value))
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler to report
            return record
        scrubbed = _scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and record.exc_info[1] is not None:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            scrubbed = _scrub(text)
            if scrubbed != text:
                record.exc_text = scrubbed
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True
