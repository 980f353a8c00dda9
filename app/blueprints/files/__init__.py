"""files blueprint."""

from app.blueprints.files.routes import bp

__all__ = ["bp"]
