"""Run lifecycle: create, submit after commit, claim, execute, retry, cancel, reap.

The module callers import: :func:`submit`, :func:`submit_after_commit` (from
:mod:`app.jobs.dispatch`) and :func:`reap` (from :mod:`app.jobs.reaper`) are re-exported here.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import CursorResult, func, or_, select, update

from app.extensions import db
from app.jobs import registry
from app.jobs.context import Heartbeat, LeaseLost, RunContext
from app.jobs.dispatch import submit as submit
from app.jobs.dispatch import submit_after_commit as submit_after_commit
from app.jobs.queue import enqueue
from app.jobs.reaper import reap as reap
from app.jobs.redact import redact
from app.models import InvalidTransition, Run, RunLog, RunStatus, transition
from app.models.base import utcnow

log = logging.getLogger(__name__)
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
RETRYABLE = (RunStatus.FAILED, RunStatus.DEAD, RunStatus.CANCELED)
#: Pending or running: at most one such run per kind and subject (a partial unique index).
ACTIVE = (RunStatus.PENDING, RunStatus.RUNNING)
CANCELABLE = ACTIVE
#: The log line of a manual retry; its attempt number starts a fresh round of backoff.
RETRY_REQUESTED = "retry requested"


def create(
    kind: str,
    *,
    subject: tuple[str, int] | None = None,
    payload: dict[str, Any] | None = None,
    created_by_id: int | None = None,
    batch_id: int | None = None,
    max_attempts: int | None = None,
) -> Run:
    """Add a pending run to the session (flushed, not committed). Unknown kind: KeyError."""
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


def claim(run_id: int, lease_seconds: int) -> tuple[Run, str] | None:
    """pending → running by one conditional UPDATE; the claim is ours only if rowcount = 1.

    A fresh lease token per claim; the attempt is counted here, not at completion.
    """
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
            worker_id=f"{WORKER_ID}:{threading.get_ident()}"[:120],
            attempt=Run.attempt + 1,
            started_at=now,
            finished_at=None,
            error=None,
            error_code=None,
        )
        .execution_options(synchronize_session=False)
    )
    try:
        claimed = cast("CursorResult[Any]", db.session.execute(stmt)).rowcount == 1
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    if not claimed:
        return None
    run = db.session.get(Run, run_id, populate_existing=True)
    assert run is not None
    return run, token


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter: ~10 s, 40 s, 160 s … capped at 15 min."""
    base = min(10 * 4 ** max(attempt - 1, 0), 900)
    return base * random.uniform(0.8, 1.2)  # noqa: S311 (jitter, not crypto)


def execute(run_id: int) -> str:
    """Claim and run one run in the current app context. Returns the outcome word:
    succeeded, retry, failed, dead, lease-lost or not-claimed."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    lease = int(app.config["RUN_LEASE_SECONDS"])
    claimed = claim(run_id, lease)
    if claimed is None:
        _reschedule_if_early(run_id)
        return "not-claimed"
    run, token = claimed
    ctx = RunContext(run, token, lease)
    db.session.commit()  # no transaction stays open while the handler works
    try:
        h = registry.get(ctx.kind)
    except KeyError as exc:
        return _fail(ctx, None, "unknown_kind", str(exc.args[0]), transient=False)
    ctx.log(f"attempt {ctx.attempt}/{ctx.max_attempts} started on {WORKER_ID}")
    try:
        with Heartbeat(app, ctx):
            result = h.run(ctx)
            if not ctx.completed:
                with ctx.fenced():
                    ctx.complete(result or {})
    except LeaseLost:
        db.session.rollback()
        log.warning("run %s: lease lost, result discarded", run_id)
        ctx.log("lease lost: this attempt's result was discarded", level="warning")
        return "lease-lost"
    except Exception as exc:  # the run records it; the worker carries on
        db.session.rollback()
        code, transient = _classify(h, exc)
        return _fail(ctx, h, code, _message(exc), transient)
    ctx.log("succeeded")
    return "succeeded"


def _classify(h: registry.Handler, exc: BaseException) -> tuple[str, bool]:
    try:
        code, transient = h.classify(exc)
    except Exception:
        log.exception("classify failed for %s", h.kind)
        code, transient = type(exc).__name__, False
    return str(code or "error")[:40], bool(transient)


def _message(exc: BaseException) -> str:
    """What went wrong, without the code the run records beside it: exceptions written for
    people carry ``message`` (``str()`` of an AuditError repeats its code in front)."""
    message = getattr(exc, "message", None)
    return message if isinstance(message, str) and message else (str(exc) or type(exc).__name__)


def _round_attempt(run: Run) -> int:
    """The attempt's number within its round: a manual retry starts a new round, whose
    backoff starts again at ~10 s (the run's attempt count goes on from where it was)."""
    retried_at = db.session.scalar(
        select(func.max(RunLog.attempt)).where(RunLog.run_id == run.id,
                                               RunLog.message == RETRY_REQUESTED)
    )
    return max(run.attempt - (retried_at or 0), 1)


def _reschedule_if_early(run_id: int) -> None:
    """A delayed task that arrived before ``not_before``: put it back for later."""
    row = db.session.execute(
        select(Run.status, Run.not_before).where(Run.id == run_id)
    ).one_or_none()
    db.session.rollback()
    if row and row.status == RunStatus.PENDING and row.not_before and row.not_before > utcnow():
        enqueue(run_id, delay=(row.not_before - utcnow()).total_seconds() + 0.5)


def _fail(
    ctx: RunContext, h: registry.Handler | None, code: str, message: str, transient: bool
) -> str:
    message = redact(message)[:2000]
    delay = 0.0
    try:
        with ctx.fenced():
            run = db.session.get(Run, ctx.run_id)
            assert run is not None
            now = utcnow()
            run.error, run.error_code = message, code[:40]
            run.lease_token, run.lease_expires_at, run.worker_id = None, None, None
            if transient and run.attempt < run.max_attempts:
                delay = backoff_seconds(_round_attempt(run))
                run.status = RunStatus.PENDING
                run.not_before = now + timedelta(seconds=delay)
                run.enqueued_at = None
                status = "retry"
            else:
                run.status = RunStatus.DEAD if transient else RunStatus.FAILED
                run.finished_at = now
                if run.started_at:
                    run.duration_ms = int((now - run.started_at).total_seconds() * 1000)
                registry.call_final_failure(h, run, code, message)
                status = run.status.value
            ctx.log(f"{code}: {message}", level="error")
            if status == "retry":
                ctx.log(f"will retry in {delay:.0f} s")
    except LeaseLost:
        return "lease-lost"
    if status == "retry":
        submit([ctx.run_id], delay=delay)
    return status


def _lock(run: Run) -> Run:
    """Re-read ``run`` with a row lock (Postgres) so a status check and change are atomic."""
    db.session.refresh(run, with_for_update=True)
    return run


def active_runs(kind: str, subject_type: str, subject_ids: Sequence[int]) -> dict[int, int]:
    """``{subject_id: run_id}`` of the pending or running ``kind`` runs of these subjects."""
    found: dict[int, int] = {}
    ids = list(subject_ids)
    for start in range(0, len(ids), 500):
        rows = db.session.execute(
            select(Run.subject_id, Run.id).where(
                Run.kind == kind,
                Run.subject_type == subject_type,
                Run.subject_id.in_(ids[start : start + 500]),
                Run.status.in_(ACTIVE),
            )
        )
        found.update({subject_id: run_id for subject_id, run_id in rows})
    return found


def retry(run: Run) -> None:
    """Manual retry of a failed, dead or canceled run: back to pending with fresh attempts
    (flushed by the caller; :func:`app.runs.operations.retry` also hands it to the queue
    after the commit)."""
    _lock(run)
    if run.status not in RETRYABLE:
        raise InvalidTransition(f"Only failed, dead or canceled runs can be retried "
                                f"(run {run.id} is {run.status.value}).")
    if run.subject_type and run.subject_id is not None:
        other = active_runs(run.kind, run.subject_type, [run.subject_id]).get(run.subject_id)
        if other is not None:
            raise InvalidTransition(
                f"Run #{other} of the same {run.kind} for this {run.subject_type} is already "
                f"pending or running; wait for it to end (or cancel it) before retrying "
                f"run #{run.id}."
            )
    transition(run, RunStatus.PENDING)
    try:
        fresh = registry.get(run.kind).max_attempts
    except KeyError:
        fresh = int(current_app.config["RUN_MAX_ATTEMPTS"])
    run.max_attempts = run.attempt + max(fresh, 1)
    run.not_before = run.error = run.error_code = run.finished_at = None
    run.enqueued_at = run.worker_id = run.lease_token = run.lease_expires_at = None
    db.session.add(RunLog(run_id=run.id, attempt=run.attempt, message=RETRY_REQUESTED))


def cancel(run: Run) -> None:
    """Cancel a pending or running run. A running one loses its lease at once, so its
    heartbeat stops it and its fenced writes are refused."""
    _lock(run)
    if run.status not in CANCELABLE:
        raise InvalidTransition(f"Only pending or running runs can be canceled "
                                f"(run {run.id} is {run.status.value}).")
    transition(run, RunStatus.CANCELED)
    run.lease_token = run.lease_expires_at = run.worker_id = None
    run.finished_at = utcnow()
    db.session.add(RunLog(run_id=run.id, attempt=run.attempt, level="warning",
                          message="canceled"))
    h = registry.HANDLERS.get(run.kind)
    registry.call_final_failure(h, run, "canceled", "canceled by a person")
