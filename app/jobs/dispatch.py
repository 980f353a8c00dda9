"""Hand committed runs to the queue: now (:func:`submit`) or once the session commits
(:func:`submit_after_commit`, what operations use). Both are re-exported by
:mod:`app.jobs.runs`, the module callers import."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import event, insert, update
from sqlalchemy.orm import Session

from app.extensions import db
from app.jobs.queue import enqueue
from app.models import Run, RunLog
from app.models.base import utcnow

log = logging.getLogger(__name__)
_SUBMIT_KEY = "runs_submit_after_commit"


def submit(run_ids: Sequence[int], delay: float | None = None) -> int:
    """Hand committed runs to Huey, then record when. Call only after the commit
    (operations call :func:`submit_after_commit` instead, which does it for them).

    Returns how many reached the queue. When the queue is unreachable the runs stay
    pending with ``enqueued_at`` NULL and a log line; the reaper hands them over later.
    The bookkeeping uses its own short transaction, never the caller's session.
    """
    run_ids = list(run_ids)
    sent: list[int] = []
    for run_id in run_ids:
        if not enqueue(run_id, delay=delay):
            break  # the queue is down: don't wait on it once per run
        sent.append(run_id)
    missed = run_ids[len(sent):]
    try:
        with db.engine.begin() as conn:
            if sent:
                conn.execute(update(Run).where(Run.id.in_(sent)).values(enqueued_at=utcnow()))
            if missed:
                conn.execute(insert(RunLog), [
                    {"run_id": run_id, "level": "warning", "at": utcnow(),
                     "message": "job queue unreachable; the reaper will retry"}
                    for run_id in missed[:100]
                ])
    except Exception:  # bookkeeping only: the reaper recovers either way
        log.exception("could not record the enqueue of runs %s", run_ids[:20])
    return len(sent)


def submit_after_commit(run_ids: Sequence[int], delay: float | None = None) -> None:
    """Queue runs for Huey once the current transaction commits (nothing on rollback).

    This is how operations hand work to the worker: they flush the run rows and never
    commit; whoever commits (a route, a CLI command, a job) triggers the hand-over.
    """
    pending = db.session().info.setdefault(_SUBMIT_KEY, [])
    pending.append((list(run_ids), delay))


@event.listens_for(Session, "after_commit")
def _submit_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        # SQLAlchemy also calls this when a savepoint is released (``begin_nested``, as in
        # ``registry.call_final_failure``): the runs are not committed yet, and the
        # bookkeeping below would wait on SQLite's write lock this session still holds.
        return
    for run_ids, delay in session.info.pop(_SUBMIT_KEY, []):
        if run_ids:
            submit(run_ids, delay=delay)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_SUBMIT_KEY, None)
