"""Template filters of the webhook pages."""

from __future__ import annotations

import json
from typing import Any

from app.blueprints.webhooks.routes import bp
from app.untrusted import mask_url


@bp.app_template_filter("webhook_url")
def webhook_url(url: str) -> str:
    """An endpoint URL fit to show: a password or token in it is masked."""
    return mask_url(url)


@bp.app_template_filter("webhook_json")
def webhook_json(body: Any) -> str:
    """A delivery body as the receiver gets it, indented for reading."""
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False)


@bp.app_template_filter("delivery_badge")
def delivery_badge(status: Any) -> str:
    """The badge class of a delivery status."""
    value = getattr(status, "value", status)
    return {"delivered": "ok", "pending": "pending", "failed": "failed"}.get(value, "canceled")
