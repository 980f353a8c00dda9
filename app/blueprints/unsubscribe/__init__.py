"""The recipient's unsubscribe link, ``/u/<token>`` (no sign-in, no cookie, no CSRF)."""

from app.blueprints.unsubscribe.routes import bp

__all__ = ["bp"]
