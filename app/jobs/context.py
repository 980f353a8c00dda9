"""What a handler gets while it runs: payload, logging, heartbeat and fenced writes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from app.extensions import db
from app.models import Run, RunLog, RunStatus
from app.models.base import utcnow


class LeaseLost(RuntimeError):
    """Another worker (or the reaper) owns this run now; stop without writing."""

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
        self.token = token
        self.lease_seconds = lease_seconds
        self.completed = False
        self.result: dict[str, Any] | None = None
        self._lost = threading.Event()
        self._phase_started = time.monotonic()

    # -- lease -------------------------------------------------------------
    def _fence_stmt(self, **values: Any) -> Any:
        return (
            update(Run)
            .where(Run.id == self.run_id, Run.lease_token == self.token)
            .where(Run.status == RunStatus.RUNNING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    def renew(self) -> bool:
        """Extend the lease (one short transaction); False once it has been lost."""
        now = utcnow()
        stmt = self._fence_stmt(
            heartbeat_at=now, lease_expires_at=now + timedelta(seconds=self.lease_seconds)
        )
        ok = db.session.execute(stmt).rowcount == 1
        db.session.commit()
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
        """A transaction that only commits while this worker still holds the lease."""
        db.session.rollback()
        if db.session.execute(self._fence_stmt(heartbeat_at=utcnow())).rowcount != 1:
            db.session.rollback()
            self._lost.set()
            raise LeaseLost(f"run {self.run_id} lease lost")
        try:
            yield
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise

    def complete(self, result: dict[str, Any] | None = None) -> None:
        """Mark the run succeeded inside the current fenced transaction."""
        run = db.session.get(Run, self.run_id)
        assert run is not None
        now = utcnow()
        run.status = RunStatus.SUCCEEDED
        run.finished_at = now
        run.result = result or {}
        run.lease_token = None
        run.lease_expires_at = None
        if run.started_at:
            run.duration_ms = int((now - run.started_at).total_seconds() * 1000)
        self.completed = True
        self.result = result

    # -- logging -----------------------------------------------------------
    def log(self, message: str, level: str = "info", duration_ms: int | None = None) -> None:
        """Append a log line to the run (own short transaction)."""
        from app.jobs.redact import redact

        db.session.add(
            RunLog(
                run_id=self.run_id,
                attempt=self.attempt,
                level=level,
                message=redact(message)[:2000],
                duration_ms=duration_ms,
            )
        )
        db.session.commit()

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Log a named phase with its duration."""
        start = time.monotonic()
        try:
            yield
        finally:
            ms = int((time.monotonic() - start) * 1000)
            self.log(f"{name} ({ms} ms)", duration_ms=ms)


class Heartbeat:
    """Renews the lease every ``lease/3`` seconds in its own thread and app context."""

    def __init__(self, app: Any, ctx: RunContext) -> None:
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
        while not self._stop.wait(interval):
            with self.app.app_context():
                try:
                    if not self.ctx.renew():
                        return
                except Exception:  # a busy DB must not kill the heartbeat
                    self.app.logger.exception("heartbeat failed for run %s", self.ctx.run_id)
                    db.session.rollback()
