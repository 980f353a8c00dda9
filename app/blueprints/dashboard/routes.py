"""The dashboard: counts by status and a live activity feed."""

from __future__ import annotations

from flask import Blueprint

from app import dashboard
from app.access import member
from app.htmx import render

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@member
def index():
    return render("dashboard/index.html", "live", summary=dashboard.summary(), feed=dashboard.feed())
