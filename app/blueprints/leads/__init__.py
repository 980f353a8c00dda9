"""leads blueprint: ``bp`` lives in routes.py; the bulk actions, the live updates and the
CSV import pages are modules of their own that add their routes to it."""

from app.blueprints.leads import actions, imports, live  # noqa: F401  (routes register on bp)
from app.blueprints.leads.routes import bp

__all__ = ["bp"]
