"""campaigns blueprint."""

from app.blueprints.campaigns.routes import bp

__all__ = ["bp"]
