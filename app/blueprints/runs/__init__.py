"""runs blueprint."""

from app.blueprints.runs.routes import bp

__all__ = ["bp"]
