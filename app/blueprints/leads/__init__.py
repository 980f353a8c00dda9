"""leads blueprint."""

from app.blueprints.leads.routes import bp

__all__ = ["bp"]
