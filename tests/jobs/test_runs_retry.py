"""Issue 9.4: a manual Retry starts promptly. It clears the failed attempt's backoff, hands
the run to the queue at once (not scheduled for later), and a failure in the retried round
backs off from ~10 s again: the run's attempt count goes on (attempt 4 of 6), but its
backoff used to go on too (attempt 4 waits 640 s ± 20 %, "about 12 minutes")."""

from __future__ import annotations

from datetime import timedelta

from jobhelpers import make_run, refresh, set_run
from sqlalchemy import select

from app.activity import SYSTEM
from app.extensions import db
from app.jobs import runs
from app.models import RunLog, RunStatus
from app.models.base import utcnow
from app.runs import operations


def _exhaust(run_id: int) -> None:
    """Run every attempt of a transient failure now (no waiting for the backoff)."""
    while refresh(run_id).status == RunStatus.PENDING:
        set_run(run_id, not_before=utcnow() - timedelta(seconds=1))
        runs.execute(run_id)


def test_retry_clears_backoff_and_hands_over_now(app, huey):
    run = make_run("test.transient", max_attempts=4)
    _exhaust(run.id)
    got = refresh(run.id)
    assert got.status == RunStatus.DEAD and got.attempt == 4
    set_run(run.id, not_before=utcnow() + timedelta(minutes=12))  # a stale backoff
    huey.flush()

    operations.retry(refresh(run.id), actor=SYSTEM)
    db.session.commit()
    got = refresh(run.id)
    assert got.status == RunStatus.PENDING and got.not_before is None
    assert got.enqueued_at is not None and got.error is None
    tasks = huey.pending()
    assert [t.args for t in tasks] == [(run.id,)] and tasks[0].eta is None  # now, not later
    huey.flush()

    # The retried attempt fails again: the next try comes in ~10 s, not 10+ minutes.
    before = utcnow()
    assert runs.execute(run.id) == "retry"
    got = refresh(run.id)
    assert got.attempt == 5 and got.status == RunStatus.PENDING
    assert 7 <= (got.not_before - before).total_seconds() <= 13
    (task,) = huey.pending()
    assert abs((task.eta - got.not_before).total_seconds()) < 2


def test_error_message_does_not_repeat_its_code(app):
    from app.jobs import registry

    class Coded(Exception):
        def __init__(self) -> None:
            self.code, self.message = "dns_failure", "shop.example could not be looked up."
            super().__init__(f"{self.code}: {self.message}")

    @registry.handler("test.coded", classify=lambda exc: (exc.code, False))
    def _coded(ctx):
        raise Coded()

    try:
        run = make_run("test.coded")
        assert runs.execute(run.id) == "failed"
        got = refresh(run.id)
        assert got.error_code == "dns_failure"
        assert got.error == "shop.example could not be looked up."
        lines = db.session.scalars(select(RunLog.message).where(RunLog.run_id == run.id)).all()
        assert "dns_failure: shop.example could not be looked up." in lines
        assert not any("dns_failure: dns_failure" in line for line in lines)
    finally:
        registry.HANDLERS.pop("test.coded", None)
