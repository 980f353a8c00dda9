"""auth blueprint."""

from app.blueprints.auth.routes import bp

__all__ = ["bp"]
