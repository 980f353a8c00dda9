"""dashboard blueprint."""

from app.blueprints.dashboard import filters  # noqa: F401  (registers the feed helpers)
from app.blueprints.dashboard.routes import bp

__all__ = ["bp"]
