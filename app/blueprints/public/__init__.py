"""public blueprint: the prospect's page ``/r/<token>`` (routes.py) and the staff side
(staff.py: preview, publish, revoke, rotate, bulk publish)."""

from app.blueprints.public import filters, staff  # noqa: F401  (routes register on bp)
from app.blueprints.public.routes import bp

__all__ = ["bp"]
