"""webhooks blueprint (admins): endpoints, their secrets and their delivery logs."""

from app.blueprints.webhooks import filters as _filters  # noqa: F401  (registers the filters)
from app.blueprints.webhooks.routes import bp

__all__ = ["bp"]
