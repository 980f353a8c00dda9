"""Helpers for the jobs tests: test-only run kinds and small DB helpers."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.activity import SYSTEM, record
from app.extensions import db
from app.jobs import registry, runs
from app.jobs.context import RunContext
from app.models import Activity, Run
from app.models.base import utcnow

FINAL_FAILURES: list[tuple[int, str]] = []


def _final(run: Run, code: str, message: str) -> None:
    FINAL_FAILURES.append((run.id, code))
    record(SYSTEM, "test.final_failure", f"run {run.id} {code}", subject=("run", run.id))


@registry.handler("test.transient", on_final_failure=_final, max_attempts=2)
def _transient(ctx: RunContext) -> dict[str, Any]:
    raise ConnectionError("cannot reach redis://:hunter2secret@127.0.0.1:1/0")


@registry.handler("test.permanent", on_final_failure=_final)
def _permanent(ctx: RunContext) -> dict[str, Any]:
    raise ValueError("bad input: password=hunter2secret")


@registry.handler("test.marker")
def _marker(ctx: RunContext) -> dict[str, Any]:
    with ctx.phase("work"):
        ctx.log("working")
    with ctx.fenced():
        record(SYSTEM, "test.marker", f"run {ctx.run_id}", subject=("run", ctx.run_id))
        ctx.complete({"ok": True})
    return {"ok": True}


def make_run(kind: str = "test.marker", **kw: Any) -> Run:
    """Create and commit a run (not submitted), returned detached with no transaction
    left open: on SQLite every transaction takes the write lock (BEGIN IMMEDIATE)."""
    run = runs.create(kind, **kw)
    db.session.commit()
    db.session.refresh(run)
    db.session.expunge(run)
    db.session.rollback()
    return run


def markers(verb: str, run_id: int) -> int:
    return len(db.session.scalars(
        select(Activity.id).where(Activity.verb == verb, Activity.subject_id == run_id)
    ).all())


def expire_lease(run_id: int) -> None:
    """Pretend the lease ran out (the worker stopped renewing)."""
    run = db.session.get(Run, run_id)
    run.lease_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def set_run(run_id: int, **values: Any) -> None:
    """Change stored columns of a run directly (and commit)."""
    run = db.session.get(Run, run_id)
    for key, value in values.items():
        setattr(run, key, value)
    db.session.commit()


def refresh(run_id: int) -> Run:
    """The run as stored now (ends any open transaction first)."""
    db.session.rollback()
    run = db.session.get(Run, run_id)
    assert run is not None
    return run


def closed_port() -> int:
    """A loopback port nothing listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
