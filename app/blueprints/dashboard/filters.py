"""Template helpers of the activity feed: avatar initials and a link to the subject."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_login import current_user

from app.blueprints.dashboard.routes import bp
from app.models import Activity

#: Where a feed item links to: subject type → (endpoint, argument name, admins only?).
SUBJECT_LINKS = {
    "run": ("runs.show", "run_id", False),
    "audit": ("audits.show", "audit_id", False),
    "lead": ("leads.show", "lead_id", False),
    "user": ("users.edit", "user_id", True),
}


@bp.app_template_filter("initials")
def initials(name: str | None) -> str:
    """Two letters for an avatar: 'Ann Lee' → 'AL', 'bob@x.com' → 'BO', None → '⚙'."""
    if not name:
        return "⚙"
    words = [w for w in name.split("@")[0].replace(".", " ").split() if w]
    if len(words) >= 2:
        return (words[0][0] + words[1][0]).upper()
    return (words[0][:2] if words else "?").upper()


@bp.app_template_global("activity_url")
def activity_url(item: Activity) -> str | None:
    """A link to the item's subject when it has a page the current user may open."""
    target = SUBJECT_LINKS.get(item.subject_type or "")
    if target is None or item.subject_id is None:
        return None
    endpoint, arg, admins_only = target
    if admins_only and not current_user.is_admin:
        return None
    values: dict[str, Any] = {arg: item.subject_id}
    return url_for(endpoint, **values)
