"""Runs started on a schedule (upkeep …): each periodic kind gets a new run once its last
one is older than its interval. Called by the worker's reaper thread, so only the worker
that does periodic work starts them; the runs table, not a timer, says when one is due.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.jobs import registry, runs
from app.models import Run
from app.models.base import utcnow


def due(kind: str, every_hours: float, now: datetime) -> bool:
    """True when no run of ``kind`` is pending or running and the latest one was created
    ``every_hours`` ago or more (or there is none)."""
    latest = db.session.execute(
        select(Run.status, Run.created_at).where(Run.kind == kind).order_by(Run.id.desc()).limit(1)
    ).one_or_none()
    if latest is None:
        return True
    if latest.status in runs.ACTIVE:
        return False
    return latest.created_at <= now - timedelta(hours=every_hours)


def start_due(now: datetime | None = None) -> list[int]:
    """Create and hand over a run of every periodic kind that is due; their ids."""
    now = now or utcnow()
    started: list[int] = []
    try:
        for kind, key in sorted(registry.PERIODIC.items()):
            if due(kind, float(current_app.config[key]), now):
                started.append(runs.create(kind).id)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    if started:
        runs.submit(started)
    return started
