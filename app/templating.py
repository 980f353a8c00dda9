"""Template filters and globals shared by all pages."""

from __future__ import annotations

from datetime import datetime

from flask import Flask


def timeago(value: datetime | None) -> str:
    """'3 min ago' style rendering of a naive-UTC datetime."""
    if value is None:
        return "—"
    from app.models.base import utcnow

    secs = int((utcnow() - value).total_seconds())
    if secs < 60:
        return "just now" if secs < 5 else f"{secs} s ago"
    if secs < 3600:
        return f"{secs // 60} min ago"
    if secs < 86400:
        return f"{secs // 3600} h ago"
    return value.strftime("%Y-%m-%d")


NAV = (
    ("Dashboard", "dashboard.index", ("dashboard.",), False),
    ("Campaigns", "campaigns.index", ("campaigns.", "leads.", "audits."), False),
    ("Runs", "runs.index", ("runs.",), False),
    ("Users", "users.index", ("users.",), True),
    ("Settings", "settings.index", ("settings.",), True),
)


def nav_items() -> list[dict[str, object]]:
    """Navigation entries the current user may see, with the active one marked."""
    from flask import current_app, request
    from flask_login import current_user

    endpoint = request.endpoint or ""
    return [
        {"label": label, "endpoint": ep, "active": endpoint.startswith(prefixes)}
        for label, ep, prefixes, admin_only in NAV
        if ep in current_app.view_functions and (current_user.is_admin or not admin_only)
    ]


def register(app: Flask) -> None:
    """Install filters and globals."""
    app.jinja_env.globals["nav_items"] = nav_items
    app.jinja_env.filters["timeago"] = timeago
    app.jinja_env.filters["dt"] = lambda v: v.strftime("%Y-%m-%d %H:%M") if v else "—"
