"""users blueprint."""

from app.blueprints.users.routes import bp

__all__ = ["bp"]
