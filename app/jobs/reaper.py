"""The reaper: recovers runs whose worker died and runs that fell out of the queue.

Every change is a conditional UPDATE, so a run whose worker renewed or finished in the
meantime is left alone, and two reapers at once do no harm (only one should run:
``pitchfast worker --no-periodic`` on the others).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, func, or_, select, update

from app.extensions import db
from app.jobs import registry
from app.jobs.dispatch import submit
from app.jobs.queue import queued_run_ids
from app.models import Run, RunLog, RunStatus
from app.models.base import utcnow


def reap(now: datetime | None = None) -> dict[str, int]:
    """Requeue runs whose lease expired (dead after ``max_attempts``, with
    ``on_final_failure``) and resubmit due pending runs that Huey no longer holds."""
    now = now or utcnow()
    counts = {"requeued": 0, "dead": 0, "resubmitted": 0}
    expired = db.session.execute(
        select(Run.id, Run.lease_token, Run.attempt, Run.max_attempts, Run.kind)
        .where(Run.status == RunStatus.RUNNING, Run.lease_expires_at < now)
        .order_by(Run.id).limit(500)
    ).all()
    requeue: list[int] = []
    for row in expired:
        msg = f"lease expired on attempt {row.attempt} (worker stopped or crashed)"
        base = (
            update(Run)
            .where(Run.id == row.id, Run.status == RunStatus.RUNNING)
            .where(Run.lease_token == row.lease_token, Run.lease_expires_at < now)
            .execution_options(synchronize_session=False)
        )
        values: dict[str, Any]
        cleared = {"lease_token": None, "lease_expires_at": None, "worker_id": None}
        if row.attempt < row.max_attempts:
            values = {"status": RunStatus.PENDING, "not_before": None, "enqueued_at": None}
        else:
            values = {"status": RunStatus.DEAD, "finished_at": now, "error": msg,
                      "error_code": "lease_expired"}
        result = cast("CursorResult[Any]", db.session.execute(base.values(**cleared, **values)))
        if result.rowcount != 1:
            continue
        db.session.add(RunLog(run_id=row.id, attempt=row.attempt, level="warning", message=msg))
        if values["status"] == RunStatus.PENDING:
            requeue.append(row.id)
            counts["requeued"] += 1
        else:
            run = db.session.get(Run, row.id, populate_existing=True)
            if run is not None:
                h = registry.HANDLERS.get(row.kind)
                registry.call_final_failure(h, run, "lease_expired", msg)
            counts["dead"] += 1
    db.session.commit()
    resubmit = sorted(set(requeue) | set(_lost_runs(now)))
    counts["resubmitted"] = submit(resubmit) if resubmit else 0
    return counts


def _lost_runs(now: datetime) -> list[int]:
    """Pending, due runs handed over more than a grace period ago that Huey no longer holds
    (never enqueued, queue was down, or a killed consumer took the task with it)."""
    grace = timedelta(seconds=int(current_app.config.get("RUN_REQUEUE_GRACE_SECONDS", 30)))
    rows = db.session.execute(
        select(Run.id, Run.enqueued_at)
        .where(Run.status == RunStatus.PENDING)
        .where(or_(Run.not_before.is_(None), Run.not_before <= now))
        .where(func.coalesce(Run.enqueued_at, Run.created_at) < now - grace)
        .order_by(Run.id).limit(1000)
    ).all()
    db.session.commit()
    if not rows:
        return []
    in_huey = queued_run_ids()
    if in_huey is None:  # queue too large or unreadable: only runs that never reached it
        return [r.id for r in rows if r.enqueued_at is None]
    return [r.id for r in rows if r.id not in in_huey]
