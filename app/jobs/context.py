"""What a handler gets while it runs: payload, logging, heartbeat and fenced writes.

Rules for handlers (docs/reliability.md, crash-safe jobs):

* never keep a database transaction open across slow work (network, browser): every
  ``ctx`` method below commits its own short transaction;
* call :meth:`RunContext.check_lease` between steps, and make every effect that must
  happen once inside ``with ctx.fenced(): ...`` — that transaction commits only while
  this worker still holds the lease, otherwise :class:`LeaseLost` is raised and
  nothing is written.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, cast

from flask import Flask
from sqlalchemy import CursorResult, update

from app.extensions import db
from app.jobs.redact import redact
from app.models import Run, RunLog, RunStatus
from app.models.base import utcnow

log = logging.getLogger(__name__)


class LeaseLost(RuntimeError):
    """Another worker (or the reaper, or a person canceling) owns this run now."""

    code = "lease_lost"


class RunContext:
    """Handed to a handler. Writes go through :meth:`fenced`, checked against the lease."""

    def __init__(self, run: Run, token: str, lease_seconds: int) -> None:
        self.run_id = run.id
        self.kind = run.kind
        self.subject_type = run.subject_type
        self.subject_id = run.subject_id
        self.payload: dict[str, Any] = dict(run.payload or {})
        self.attempt = run.attempt
        self.max_attempts = run.max_attempts
        self.token = token
        self.lease_seconds = lease_seconds
        self.completed = False
        self.result: dict[str, Any] | None = None
        self._lost = threading.Event()
        self._in_fence = False
        self._pending_result: dict[str, Any] | None = None

    # -- lease -------------------------------------------------------------
    def _fence_stmt(self, **values: Any) -> Any:
        return (
            update(Run)
            .where(Run.id == self.run_id, Run.lease_token == self.token)
            .where(Run.status == RunStatus.RUNNING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    def _touch(self) -> bool:
        now = utcnow()
        stmt = self._fence_stmt(
            heartbeat_at=now, lease_expires_at=now + timedelta(seconds=self.lease_seconds)
        )
        return cast("CursorResult[Any]", db.session.execute(stmt)).rowcount == 1

    def renew(self) -> bool:
        """Extend the lease (one short transaction); False once it has been lost."""
        try:
            ok = self._touch()
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        if not ok:
            self._lost.set()
        return ok

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def check_lease(self) -> None:
        """Raise :class:`LeaseLost` if the heartbeat found the lease gone."""
        if self._lost.is_set():
            raise LeaseLost(f"run {self.run_id} lease lost")

    @contextmanager
    def fenced(self) -> Iterator[None]:
        """A transaction that commits only while this worker still holds the lease.

        The first statement re-checks (and renews) the lease with a conditional UPDATE,
        which also locks the row, so the reaper cannot take the run over mid-block.
        Anything added to the session before the block is discarded.
        """
        db.session.rollback()
        if not self._touch():
            db.session.rollback()
            self._lost.set()
            raise LeaseLost(f"run {self.run_id} lease lost")
        self._in_fence = True
        try:
            yield
            db.session.commit()
        except BaseException:
            db.session.rollback()
            self._pending_result = None
            raise
        finally:
            self._in_fence = False
        if self._pending_result is not None:
            self.completed, self.result = True, self._pending_result
            self._pending_result = None

    def complete(self, result: dict[str, Any] | None = None) -> None:
        """Mark the run succeeded; only inside :meth:`fenced` (committed with it)."""
        if not self._in_fence:
            raise RuntimeError("ctx.complete() must be called inside `with ctx.fenced():`")
        run = db.session.get(Run, self.run_id)
        assert run is not None
        now = utcnow()
        run.status = RunStatus.SUCCEEDED
        run.finished_at = now
        run.result = dict(result or {})
        run.lease_token = None
        run.lease_expires_at = None
        if run.started_at:
            run.duration_ms = int((now - run.started_at).total_seconds() * 1000)
        self._pending_result = run.result

    # -- logging -----------------------------------------------------------
    def log(self, message: str, level: str = "info", duration_ms: int | None = None) -> None:
        """Append a log line to the run in its own short transaction (never fenced).

        Inside :meth:`fenced` the line joins the fenced transaction instead.
        """
        line = RunLog(
            run_id=self.run_id,
            attempt=self.attempt,
            level=level[:10],
            message=redact(message)[:2000],
            duration_ms=duration_ms,
        )
        if self._in_fence:
            db.session.add(line)
            return
        try:
            db.session.add(line)
            db.session.commit()
        except Exception:  # a log line is never worth failing the run for
            db.session.rollback()
            log.exception("run %s: could not write log line", self.run_id)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Log a named phase with its duration (also when it fails)."""
        start = time.monotonic()
        ok = False
        try:
            yield
            ok = True
        finally:
            ms = int((time.monotonic() - start) * 1000)
            self.log(f"{name} ({ms} ms)" + ("" if ok else " failed"),
                     level="info" if ok else "error", duration_ms=ms)


class Heartbeat:
    """Renews the lease every ``lease/3`` seconds in its own thread and app context."""

    def __init__(self, app: Flask, ctx: RunContext) -> None:
        self.app = app
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"hb-{ctx.run_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        interval = max(self.ctx.lease_seconds / 3, 0.2)
        with self.app.app_context():
            try:
                while not self._stop.wait(interval):
                    try:
                        if not self.ctx.renew():
                            if not (self._stop.is_set() or self.ctx.completed):
                                log.warning("run %s: lease lost (heartbeat)", self.ctx.run_id)
                            return
                    except Exception:  # a busy DB must not kill the heartbeat
                        log.exception("heartbeat failed for run %s", self.ctx.run_id)
            finally:
                db.session.remove()
