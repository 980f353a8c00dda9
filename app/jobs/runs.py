"""Run lifecycle: create, submit after commit, claim, execute, retry, cancel, reap."""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import or_, select, update

from app.extensions import db
from app.jobs import registry
from app.jobs.context import Heartbeat, LeaseLost, RunContext
from app.jobs.redact import redact
from app.models import Run, RunLog, RunStatus, transition
from app.models.base import utcnow

log = logging.getLogger(__name__)
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


def create(
    kind: str,
    *,
    subject: tuple[str, int] | None = None,
    payload: dict[str, Any] | None = None,
    created_by_id: int | None = None,
    batch_id: int | None = None,
    max_attempts: int | None = None,
) -> Run:
    """Add a pending run to the session (flushed, not committed)."""
    h = registry.get(kind)
    run = Run(
        kind=kind,
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        payload=payload or {},
        created_by_id=created_by_id,
        batch_id=batch_id,
        max_attempts=max_attempts or h.max_attempts,
        status=RunStatus.PENDING,
    )
    db.session.add(run)
    db.session.flush()
    return run


def submit(run_ids: list[int], delay: float | None = None) -> None:
    """Hand committed runs to Huey, then record when. Call only after the commit."""
    from app.jobs.queue import enqueue

    if not run_ids:
        return
    for run_id in run_ids:
        enqueue(run_id, delay=delay)
    stmt = update(Run).where(Run.id.in_(run_ids)).values(enqueued_at=utcnow())
    db.session.execute(stmt.execution_options(synchronize_session=False))
    db.session.commit()


def claim(run_id: int, lease_seconds: int) -> tuple[Run, str] | None:
    """pending → running by one conditional UPDATE; the claim is ours only if rowcount = 1."""
    token = secrets.token_hex(16)
    now = utcnow()
    stmt = (
        update(Run)
        .where(Run.id == run_id, Run.status == RunStatus.PENDING)
        .where(or_(Run.not_before.is_(None), Run.not_before <= now))
        .where(Run.attempt < Run.max_attempts)
        .values(
            status=RunStatus.RUNNING,
            lease_token=token,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            heartbeat_at=now,
            worker_id=f"{WORKER_ID}:{threading.get_ident()}",
            attempt=Run.attempt + 1,
            started_at=now,
            error=None,
            error_code=None,
        )
        .execution_options(synchronize_session=False)
    )
    claimed = db.session.execute(stmt).rowcount == 1
    db.session.commit()
    if not claimed:
        return None
    run = db.session.get(Run, run_id)
    assert run is not None
    return run, token


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter: ~10 s, 40 s, 160 s … capped at 15 min."""
    base = min(10 * 4 ** max(attempt - 1, 0), 900)
    return base * random.uniform(0.8, 1.2)  # noqa: S311 (jitter, not crypto)


def execute(run_id: int) -> str:
    """Claim and run one run in the current app context. Returns the final status word."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    lease = int(app.config["RUN_LEASE_SECONDS"])
    claimed = claim(run_id, lease)
    if claimed is None:
        return "not-claimed"
    run, token = claimed
    ctx = RunContext(run, token, lease)
    h = registry.get(run.kind)
    ctx.log(f"attempt {ctx.attempt}/{run.max_attempts} started on {WORKER_ID}")
    try:
        with Heartbeat(app, ctx):
            result = h.run(ctx)
            if not ctx.completed:
                with ctx.fenced():
                    ctx.complete(result or {})
        ctx.log("succeeded")
        return "succeeded"
    except LeaseLost:
        db.session.rollback()
        log.warning("run %s: lease lost, result discarded", run_id)
        return "lease-lost"
    except Exception as exc:  # the run records it; the worker carries on
        db.session.rollback()
        code, transient = h.classify(exc)
        return _fail(ctx, h, code, str(exc) or type(exc).__name__, transient)


def _fail(ctx: RunContext, h: registry.Handler, code: str, message: str, transient: bool) -> str:
    message = redact(message)[:2000]
    try:
        with ctx.fenced():
            run = db.session.get(Run, ctx.run_id)
            assert run is not None
            now = utcnow()
            run.error, run.error_code = message, code
            run.lease_token, run.lease_expires_at, run.worker_id = None, None, None
            if transient and run.attempt < run.max_attempts:
                delay = backoff_seconds(run.attempt)
                run.status = RunStatus.PENDING
                run.not_before = now + timedelta(seconds=delay)
                status = "retry"
            else:
                run.status = RunStatus.DEAD if transient else RunStatus.FAILED
                run.finished_at = now
                if run.started_at:
                    run.duration_ms = int((now - run.started_at).total_seconds() * 1000)
                if h.on_final_failure:
                    h.on_final_failure(run, code, message)
                status = run.status.value
    except LeaseLost:
        return "lease-lost"
    ctx.log(f"{code}: {message}", level="error")
    if status == "retry":
        ctx.log(f"will retry in {delay:.0f} s")
        submit([ctx.run_id], delay=delay)
    return status


def retry(run: Run) -> None:
    """Manual retry of a failed, dead or canceled run: back to pending with fresh attempts."""
    transition(run, RunStatus.PENDING)
    run.max_attempts = run.attempt + max(registry.get(run.kind).max_attempts, 1)
    run.not_before, run.error, run.error_code, run.finished_at = None, None, None, None
    db.session.add(RunLog(run_id=run.id, attempt=run.attempt, message="retry requested"))


def cancel(run: Run) -> None:
    """Cancel a pending or running run (a running one loses its lease; its writes are refused)."""
    transition(run, RunStatus.CANCELED)
    run.lease_token, run.lease_expires_at, run.finished_at = None, None, utcnow()
    db.session.add(RunLog(run_id=run.id, attempt=run.attempt, message="canceled"))


def reap(now: Any = None) -> dict[str, int]:
    """Recover expired leases and re-enqueue runs that never reached (or fell out of) Huey."""
    from app.jobs.queue import pending_count

    now = now or utcnow()
    counts = {"requeued": 0, "dead": 0, "resubmitted": 0}
    expired = db.session.scalars(
        select(Run.id).where(Run.status == RunStatus.RUNNING, Run.lease_expires_at < now).limit(500)
    ).all()
    requeue: list[int] = []
    for run_id in expired:
        run = db.session.get(Run, run_id)
        if run is None or run.status != RunStatus.RUNNING or run.lease_expires_at >= now:
            continue
        run.lease_token, run.lease_expires_at, run.worker_id = None, None, None
        msg = f"lease expired on attempt {run.attempt} (worker stopped or crashed)"
        if run.attempt < run.max_attempts:
            run.status, run.not_before = RunStatus.PENDING, None
            requeue.append(run.id)
            counts["requeued"] += 1
        else:
            run.status, run.finished_at = RunStatus.DEAD, now
            run.error, run.error_code = msg, "lease_expired"
            h = registry.get(run.kind)
            if h.on_final_failure:
                h.on_final_failure(run, "lease_expired", msg)
            counts["dead"] += 1
        db.session.add(RunLog(run_id=run.id, attempt=run.attempt, level="warning", message=msg))
    db.session.commit()
    stale = now - timedelta(seconds=30)
    lost = select(Run.id).where(
        Run.status == RunStatus.PENDING,
        or_(Run.not_before.is_(None), Run.not_before <= now),
        Run.created_at < stale,
    )
    if pending_count() == 0:
        # Nothing is queued, yet runs wait: they fell out of Huey (killed consumer).
        lost = lost.where(or_(Run.enqueued_at.is_(None), Run.enqueued_at < stale))
    else:
        lost = lost.where(Run.enqueued_at.is_(None))
    resubmit = sorted(set(requeue) | set(db.session.scalars(lost.limit(1000)).all()))
    submit(resubmit)
    counts["resubmitted"] = len(resubmit)
    return counts
