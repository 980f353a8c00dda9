"""api blueprint: the JSON API v1 (``bp`` lives in spec.py, where routes are declared;
routes.py holds the views, the key check and the error answers)."""

from app.blueprints.api import routes  # noqa: F401  (views register on bp)
from app.blueprints.api.spec import bp

__all__ = ["bp"]
