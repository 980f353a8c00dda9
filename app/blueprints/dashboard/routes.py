"""The dashboard: counts by status, what needs attention, and a live activity feed."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from app.access import member
from app.dashboard import queries
from app.edge import bounded_int
from app.htmx import render

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@member
def index() -> ResponseReturnValue:
    """The whole page, or (for htmx polling) only the ``live`` block."""
    return render("dashboard/index.html", "live", summary=queries.summary(),
                  attention=queries.attention(), feed=queries.feed(),
                  page_size=queries.FEED_PAGE)


@bp.get("/activity")
@member
def activity() -> ResponseReturnValue:
    """Older feed items (``?before=<id>``): a page, or only the ``items`` block for htmx."""
    items = queries.feed(before_id=bounded_int("before", low=1))
    return render("dashboard/activity.html", "items", feed=items, page_size=queries.FEED_PAGE)
