"""The dashboard: counts by status, what needs attention, and a live activity feed."""

from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user

from app import dashboard
from app.access import member
from app.htmx import render

bp = Blueprint("dashboard", __name__)


def _context() -> dict:
    return {
        "summary": dashboard.summary(),
        "attention": dashboard.attention(),
        "feed": dashboard.feed(),
        "initials": dashboard.initials,
        "subject_url": lambda a: dashboard.subject_url(a, current_user.is_admin),
    }


@bp.get("/")
@member
def index():
    """The whole page, or (for htmx polling) only the ``live`` block."""
    return render("dashboard/index.html", "live", **_context())


@bp.get("/activity")
@member
def activity():
    """Older feed items (``?before=<id>``): a page, or only the ``items`` block for htmx."""
    before = request.args.get("before", type=int)
    items = dashboard.feed(before_id=before)
    return render("dashboard/activity.html", "items", feed=items, initials=dashboard.initials,
                  subject_url=lambda a: dashboard.subject_url(a, current_user.is_admin),
                  page_size=dashboard.FEED_PAGE)
