"""Error pages: a clear message, never a crash page or a stack trace."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from app.extensions import db
from app.models import InvalidTransition

MESSAGES = {
    400: "The request was not understood.",
    401: "Please sign in.",
    403: "You do not have access to this page.",
    404: "This page does not exist (or you do not have access to it).",
    405: "That action is not allowed here.",
    413: "That file is too large.",
    422: "Some fields need attention.",
    429: "Too many attempts. Please wait a few minutes and try again.",
    500: "Something went wrong on our side. The error has been logged.",
}


#: Error codes of the JSON API (``/api/…`` answers errors as JSON, never as a page).
API_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
             405: "method_not_allowed", 409: "conflict", 413: "body_too_large",
             415: "unsupported_media_type", 422: "invalid", 429: "rate_limited",
             500: "internal_error"}


def _page(status: int, message: str | None = None) -> Any:
    text = message or MESSAGES.get(status, "Error")
    if request.path.startswith("/api/"):
        error = {"code": API_CODES.get(status, "error"), "message": text}
        return jsonify(error=error), status, {"Cache-Control": "no-store"}
    if request.headers.get("HX-Request") == "true":
        return render_template("errors/_message.html", status=status, message=text), status
    return render_template("errors/error.html", status=status, message=text), status


def _unique_violation(e: IntegrityError) -> bool:
    """True for a unique-constraint failure on SQLite or PostgreSQL."""
    return getattr(e.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(
        e.orig
    )


def _matches_nothing(e: HTTPException) -> bool:
    """True for a routing 405 whose path no rule accepts under any method either.

    Werkzeug answers 405 when one rule of a path refuses the method before another rule
    (same path, other method) refuses the argument (an id out of range, say). No resource
    has that address, so the honest answer is 404."""
    if not isinstance(e, MethodNotAllowed) or request.url_rule is not None:
        return False
    adapter = current_app.create_url_adapter(request)
    if adapter is None:
        return False
    for method in e.valid_methods or ():
        try:
            adapter.match(method=method)
        except HTTPException:
            continue
        return False
    return True


def register(app: Flask) -> None:
    """Install handlers for HTTP errors, CSRF failures, bad transitions and crashes."""

    @app.errorhandler(CSRFError)
    def csrf_error(e: CSRFError) -> tuple[str, int]:
        return _page(400, "Your form expired or was sent from elsewhere. Reload and try again.")

    @app.errorhandler(InvalidTransition)
    def bad_transition(e: InvalidTransition) -> tuple[str, int]:
        db.session.rollback()
        return _page(409, str(e))

    @app.errorhandler(IntegrityError)
    def conflict(e: IntegrityError) -> tuple[str, int]:
        # A unique constraint refused a write that raced another one (two people queuing
        # the same audit at once, say): nothing was saved, and saying so beats a crash
        # page. Any other constraint failure is a bug: logged in full, answered with 500.
        db.session.rollback()
        if not _unique_violation(e):
            return crash(e)
        app.logger.warning("write refused by a unique constraint on %s %s: %s",
                           request.method, request.path, e.orig)
        return _page(409, "Someone else changed this at the same moment, so nothing was "
                          "saved. Reload the page to see the current state and try again.")

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> tuple[str, int]:
        if _matches_nothing(e):
            e = NotFound()
        code = e.code or 500
        # A description given on purpose (``abort(422, description=…)`` at the edge) says
        # what was wrong; Werkzeug's stock descriptions give way to our short messages.
        custom = e.description if e.description != type(e).description else None
        message = custom or MESSAGES.get(code) or e.description
        if code == 413:
            limit_mb = (app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
            message = f"That file is too large (the limit is {limit_mb} MB)."
        return _page(code, message)

    @app.errorhandler(Exception)
    def crash(e: Exception) -> tuple[str, int]:
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _page(500)
