"""dashboard blueprint."""

from app.blueprints.dashboard.routes import bp

__all__ = ["bp"]
