"""audits blueprint."""

from app.blueprints.audits.routes import bp

__all__ = ["bp"]
