"""Template filters and globals shared by all pages (a feature's own live in
``app/blueprints/<feature>/filters.py``). None of them queries the database."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, request
from flask_login import current_user

from app.models.base import utcnow

#: The navigation: (label, endpoint, endpoint prefixes that mark it active, admins only?).
NAV = (
    ("Dashboard", "dashboard.index", ("dashboard.",), False),
    ("Campaigns", "campaigns.index", ("campaigns.", "leads.", "audits."), False),
    ("Outreach", "outreach.index", ("outreach.",), False),
    ("Sending", "sending.index", ("sending.",), False),
    ("Do not contact", "dnc.index", ("dnc.",), False),
    ("Runs", "runs.index", ("runs.",), False),
    ("Users", "users.index", ("users.",), True),
    ("API", "apikeys.reference_page", ("apikeys.",), False),
    ("Webhooks", "webhooks.index", ("webhooks.",), True),
    ("Settings", "settings.index", ("settings.",), True),
)


def timeago(value: datetime | None) -> str:
    """'3 min ago' style rendering of a naive-UTC datetime."""
    if value is None:
        return "—"
    secs = int((utcnow() - value).total_seconds())
    if secs < 60:
        return "just now" if secs < 5 else f"{secs} s ago"
    if secs < 3600:
        return f"{secs // 60} min ago"
    if secs < 86400:
        return f"{secs // 3600} h ago"
    return value.strftime("%Y-%m-%d")


def dt(value: datetime | None) -> str:
    """'2026-11-22 06:21' (UTC), or '—'."""
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def nav_items() -> list[dict[str, object]]:
    """Navigation entries the current user may see, with the active one marked."""
    endpoint = request.endpoint or ""
    return [
        {"label": label, "endpoint": ep, "active": endpoint.startswith(prefixes)}
        for label, ep, prefixes, admin_only in NAV
        if current_user.is_admin or not admin_only
    ]


def register(app: Flask) -> None:
    """Install the app-wide filters and globals."""
    app.jinja_env.globals["app_name"] = "PitchFast"
    app.jinja_env.globals["nav_items"] = nav_items
    app.jinja_env.filters["timeago"] = timeago
    app.jinja_env.filters["dt"] = dt
