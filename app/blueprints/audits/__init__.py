"""audits blueprint: the audit report, a lead's audits and the lead audit panel."""

from app.blueprints.audits import filters  # noqa: F401  (registers the template filters)
from app.blueprints.audits.routes import bp

__all__ = ["bp"]
