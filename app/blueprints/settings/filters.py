"""What the settings feature gives every page: the agency ``brand`` (name and logo key)
for the top bar, read before rendering (cached), never by a template."""

from __future__ import annotations

from typing import Any

from app.blueprints.settings.routes import bp
from app.settings import queries


@bp.app_context_processor
def _brand() -> dict[str, Any]:
    return {"brand": queries.brand()}
