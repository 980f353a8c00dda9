"""settings blueprint."""

from app.blueprints.settings.routes import bp

__all__ = ["bp"]
