"""apikeys blueprint: the API keys page (admins) and the API reference (members)."""

from app.blueprints.apikeys.routes import bp

__all__ = ["bp"]
