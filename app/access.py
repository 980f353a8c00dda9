"""Who may call each endpoint. Every view declares ``public``, ``member`` or ``admin``;
one ``before_request`` hook enforces it and refuses undeclared endpoints (403). The JSON
API's views declare ``api_key``: its blueprint checks the key, never the session.

Usage::

    @bp.get("/leads")
    @member
    def index(): ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from flask import Flask, abort, current_app, redirect, request, url_for
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])
LEVELS = ("public", "member", "admin", "api_key")
#: Endpoints Flask adds itself.
BUILTIN_PUBLIC = {"static"}


def _declare(level: str) -> Callable[[F], F]:
    def mark(view: F) -> F:
        view.access = level  # type: ignore[attr-defined]
        return view

    return mark


public = _declare("public")
member = _declare("member")
admin = _declare("admin")
#: The JSON API (``/api/v1``): authenticated by an API key in its blueprint, never by the
#: session cookie; a key is never accepted on a page.
api_key = _declare("api_key")


def access_level(endpoint: str | None, app: Flask | None = None) -> str | None:
    """The declared level of an endpoint, or None when undeclared."""
    if endpoint is None:
        return None
    if endpoint in BUILTIN_PUBLIC or endpoint.endswith(".static"):
        return "public"
    view = (app or current_app).view_functions.get(endpoint)
    return getattr(view, "access", None)


def is_safe_next(target: str | None) -> bool:
    """True only for a local path: no scheme, no host, no backslashes or control chars,
    also once percent-decoded (some proxies and browsers decode before resolving)."""
    if not target or len(target) > 2000:
        return False
    for candidate in (target, unquote(target)):
        if not candidate.startswith("/") or candidate.startswith("//"):
            return False
        if any(c == "\\" or ord(c) < 32 or ord(c) == 127 for c in candidate):
            return False
        if candidate[1:2] in ("\u2215", "\uff0f", "\u2044"):  # look-alike slashes
            return False
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return False
    return True


def enforce() -> Any:
    """``before_request`` hook: apply the endpoint's declared access level."""
    if request.endpoint is None:  # 404/405 handled by Flask
        return None
    level = access_level(request.endpoint)
    if level is None:
        current_app.logger.error("endpoint %s declares no access level", request.endpoint)
        abort(403)
    if level == "api_key":
        # Only the API blueprint checks keys: the level anywhere else would open a page.
        if request.blueprint != "api":
            abort(403)
        return None
    if level == "public":
        return None
    if not current_user.is_authenticated:
        target = request.full_path if request.method == "GET" else None
        login = url_for("auth.login", next=target.rstrip("?") if target else None)
        if request.headers.get("HX-Request") == "true":
            return "", 401, {"HX-Redirect": login}
        return redirect(login)
    if level == "admin" and not current_user.is_admin:
        abort(403)
    return None
