"""runs blueprint."""

from app.blueprints.runs import filters  # noqa: F401  (registers the template filters)
from app.blueprints.runs.routes import bp

__all__ = ["bp"]
