"""settings blueprint."""

from app.blueprints.settings import filters  # noqa: F401  (registers the page-wide brand)
from app.blueprints.settings.routes import bp

__all__ = ["bp"]
