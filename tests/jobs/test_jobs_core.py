"""The runs table is the truth: claim, lease, heartbeat, fencing, retry, reaper, enqueue."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from jobhelpers import FINAL_FAILURES, expire_lease, make_run, markers, refresh, set_run
from sqlalchemy import select

from app.activity import SYSTEM, record
from app.extensions import db
from app.jobs import runs
from app.jobs.context import Heartbeat, LeaseLost, RunContext
from app.models import Activity, Run, RunLog, RunStatus
from app.models.base import utcnow


def _claim_in_thread(app, run_id, barrier, out):
    with app.app_context():
        barrier.wait()
        out.append(runs.claim(run_id, 60) is not None)
        db.session.remove()


def test_claim_is_exclusive_across_threads(app):
    for _ in range(10):
        run = make_run()
        barrier, out = threading.Barrier(4), []
        threads = [threading.Thread(target=_claim_in_thread, args=(app, run.id, barrier, out))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(out) == [False, False, False, True]
        assert refresh(run.id).attempt == 1


def test_attempt_counted_at_claim_with_fresh_token(app):
    run = make_run()
    _, token1 = runs.claim(run.id, 60)
    got = refresh(run.id)
    assert (got.status, got.attempt, got.lease_token) == (RunStatus.RUNNING, 1, token1)
    assert runs.claim(run.id, 60) is None  # already running
    expire_lease(run.id)
    runs.reap()
    _, token2 = runs.claim(run.id, 60)
    assert token2 != token1 and refresh(run.id).attempt == 2


def test_heartbeat_renews_the_lease(app):
    run = make_run()
    claimed, token = runs.claim(run.id, 1)
    first = claimed.lease_expires_at
    ctx = RunContext(claimed, token, 1)
    with Heartbeat(app, ctx):
        deadline = time.monotonic() + 10
        while refresh(run.id).lease_expires_at <= first and time.monotonic() < deadline:
            db.session.rollback()
            time.sleep(0.1)
    assert refresh(run.id).lease_expires_at > first
    assert refresh(run.id).heartbeat_at > claimed.started_at
    assert not ctx.lost


def test_fenced_write_refused_after_takeover(app):
    run = make_run()
    claimed_a, token_a = runs.claim(run.id, 60)
    ctx_a = RunContext(claimed_a, token_a, 60)
    expire_lease(run.id)  # A stalls; its lease runs out
    assert runs.reap()["requeued"] == 1
    claimed_b, token_b = runs.claim(run.id, 60)
    assert token_b != token_a

    with pytest.raises(LeaseLost), ctx_a.fenced():
        record(SYSTEM, "test.marker", "from A", subject=("run", run.id))
        ctx_a.complete({"by": "A"})
    assert markers("test.marker", run.id) == 0
    assert ctx_a.renew() is False and ctx_a.lost
    with pytest.raises(LeaseLost):
        ctx_a.check_lease()
    got = refresh(run.id)
    assert (got.status, got.lease_token, got.result) == (RunStatus.RUNNING, token_b, {})

    ctx_b = RunContext(claimed_b, token_b, 60)
    with ctx_b.fenced():
        record(SYSTEM, "test.marker", "from B", subject=("run", run.id))
        ctx_b.complete({"by": "B"})
    got = refresh(run.id)
    assert (got.status, got.result, got.attempt) == (RunStatus.SUCCEEDED, {"by": "B"}, 2)
    assert markers("test.marker", run.id) == 1


def test_complete_outside_fenced_is_refused(app):
    run = make_run()
    claimed, token = runs.claim(run.id, 60)
    with pytest.raises(RuntimeError, match="fenced"):
        RunContext(claimed, token, 60).complete({})


def test_success_path_logs_phases(app, huey, drain):
    run = make_run()
    runs.submit([run.id])
    assert refresh(run.id).enqueued_at is not None
    assert drain() == 1
    got = refresh(run.id)
    assert got.status == RunStatus.SUCCEEDED and got.duration_ms is not None
    assert got.lease_token is None and got.result == {"ok": True}
    lines = db.session.scalars(select(RunLog).where(RunLog.run_id == run.id).order_by(RunLog.id))
    messages = [line.message for line in lines]
    assert messages[0].startswith("attempt 1/3 started") and messages[-1] == "succeeded"
    assert any(m.startswith("work (") for m in messages)


def test_transient_error_retries_with_backoff(app, huey, drain):
    run = make_run("test.transient")
    runs.submit([run.id])
    before = utcnow()
    drain()
    got = refresh(run.id)
    assert got.status == RunStatus.PENDING and got.attempt == 1
    assert got.error_code == "connection"
    assert "hunter2secret" not in got.error and "redis://***@" in got.error
    delay = (got.not_before - before).total_seconds()
    assert 7 <= delay <= 13  # ~10 s ± jitter
    scheduled = huey.scheduled()
    assert [t.args for t in scheduled] == [(run.id,)]
    assert abs((scheduled[0].eta - got.not_before).total_seconds()) < 2
    assert runs.execute(run.id) == "not-claimed"  # too early: put back, not run
    assert refresh(run.id).attempt == 1

    set_run(run.id, not_before=utcnow() - timedelta(seconds=1))
    assert runs.execute(run.id) == "dead"  # 2nd of max 2 attempts
    got = refresh(run.id)
    assert got.status == RunStatus.DEAD and got.attempt == 2 and got.finished_at
    assert FINAL_FAILURES == [(run.id, "connection")]
    assert markers("test.final_failure", run.id) == 1


def test_permanent_error_fails_without_retry(app, huey, drain):
    run = make_run("test.permanent")
    runs.submit([run.id])
    drain()
    got = refresh(run.id)
    assert got.status == RunStatus.FAILED and got.attempt == 1 and got.not_before is None
    assert got.error_code == "ValueError" and "hunter2secret" not in got.error
    assert huey.scheduled_count() == 0 and huey.pending_count() == 0
    assert FINAL_FAILURES == [(run.id, "ValueError")]
    logs = db.session.scalars(select(RunLog.message).where(RunLog.run_id == run.id)).all()
    assert not any("hunter2secret" in m for m in logs)


def test_unknown_kind_fails_cleanly(app):
    run = make_run()
    set_run(run.id, kind="no.such.kind")
    assert runs.execute(run.id) == "failed"
    assert refresh(run.id).error_code == "unknown_kind"


def test_reaper_requeues_expired_and_kills_exhausted(app, huey):
    a, b = make_run(), make_run("test.transient")
    runs.claim(a.id, 60)
    runs.claim(b.id, 60)
    expire_lease(a.id)
    expire_lease(b.id)
    set_run(b.id, max_attempts=1)
    counts = runs.reap()
    assert counts["requeued"] == 1 and counts["dead"] == 1
    got_a, got_b = refresh(a.id), refresh(b.id)
    assert got_a.status == RunStatus.PENDING and got_a.lease_token is None
    assert got_b.status == RunStatus.DEAD and got_b.error_code == "lease_expired"
    assert FINAL_FAILURES == [(b.id, "lease_expired")]
    assert [t.args for t in huey.pending()] == [(a.id,)]
    assert got_a.enqueued_at is not None


def test_reaper_leaves_live_leases_alone(app, huey):
    run = make_run()
    runs.claim(run.id, 60)
    assert runs.reap() == {"requeued": 0, "dead": 0, "resubmitted": 0}
    assert refresh(run.id).status == RunStatus.RUNNING


def test_reaper_resubmits_runs_that_never_reached_huey(app, huey):
    lost, queued, fresh = make_run(), make_run(), make_run()
    runs.submit([queued.id])
    old = utcnow() - timedelta(minutes=5)
    set_run(lost.id, created_at=old)
    set_run(queued.id, created_at=old, enqueued_at=old)
    counts = runs.reap()
    # lost: enqueued_at NULL for > grace; queued: still in Huey; fresh: within grace
    assert counts["resubmitted"] == 1
    assert sorted(t.args[0] for t in huey.pending()) == sorted([queued.id, lost.id])
    assert refresh(lost.id).enqueued_at is not None and refresh(fresh.id).enqueued_at is None


def test_reaper_resubmits_tasks_a_killed_consumer_took(app, huey):
    run = make_run()
    runs.submit([run.id])
    assert huey.dequeue() is not None  # a consumer takes the task, then dies
    set_run(run.id, enqueued_at=utcnow() - timedelta(minutes=5))
    assert runs.reap()["resubmitted"] == 1
    assert [t.args for t in huey.pending()] == [(run.id,)]


def test_enqueue_only_after_commit(app, huey, drain):
    run = runs.create("test.marker")
    run_id = run.id
    db.session.rollback()
    assert huey.pending_count() == 0 and drain() == 0
    assert db.session.get(Run, run_id) is None
    runs.submit([run_id])  # even a buggy early submit cannot run it
    assert drain() == 1
    assert db.session.get(Run, run_id) is None
    assert db.session.scalar(select(Activity.id).where(Activity.verb == "test.marker")) is None
    assert runs.reap()["resubmitted"] == 0


def test_submit_after_commit_hands_over_on_commit_only(app, huey):
    run = runs.create("test.marker")
    runs.submit_after_commit([run.id])
    assert huey.pending_count() == 0  # nothing reaches the queue before the commit
    db.session.rollback()
    assert huey.pending_count() == 0
    db.session.commit()  # a later, unrelated commit does not hand over the forgotten run
    assert huey.pending_count() == 0
    kept = make_run()
    runs.submit_after_commit([kept.id])
    db.session.commit()
    assert [t.args for t in huey.pending()] == [(kept.id,)]
    assert refresh(kept.id).enqueued_at is not None


def test_cancel_running_run_stops_its_worker(app):
    run = make_run()
    claimed, token = runs.claim(run.id, 60)
    ctx = RunContext(claimed, token, 60)
    runs.cancel(refresh(run.id))
    db.session.commit()
    assert ctx.renew() is False
    with pytest.raises(LeaseLost), ctx.fenced():
        ctx.complete({})
    assert refresh(run.id).status == RunStatus.CANCELED


def test_retry_only_from_final_states(app):
    from app.models import InvalidTransition

    run = make_run()
    runs.claim(run.id, 60)
    with pytest.raises(InvalidTransition):
        runs.retry(refresh(run.id))  # running: a retry would run it twice
    db.session.rollback()
    runs.cancel(refresh(run.id))
    db.session.commit()
    with pytest.raises(InvalidTransition):
        runs.cancel(refresh(run.id))
    db.session.rollback()
    runs.retry(refresh(run.id))
    db.session.commit()
    got = refresh(run.id)
    assert got.status == RunStatus.PENDING and got.max_attempts == got.attempt + 3
    assert got.finished_at is None and got.enqueued_at is None


CLAIMER = """
import json, os, sys, time
from app import create_app
from app.extensions import db
from app.jobs import runs
cfg, ids, go, ready = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
app = create_app(cfg)
with app.app_context():
    db.session.execute(db.text("SELECT 1")); db.session.rollback()
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.005)
    won = [i for i in ids if runs.claim(i, 60) is not None]
print(json.dumps(won))
"""


def test_claim_is_exclusive_across_processes(app, tmp_path):
    import json
    import subprocess
    import sys

    ids = [make_run().id for _ in range(40)]
    cfg = {k: app.config[k] for k in ("SECRET_KEY", "DATABASE_URL", "HUEY_URL", "STORAGE_URL")}
    cfg.update(TESTING=True, INSTANCE_PATH=str(tmp_path))
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", CLAIMER, json.dumps(cfg), json.dumps(order),
                               str(go), str(tmp_path / f"ready{n}")], stdout=subprocess.PIPE)
             for n, order in enumerate((ids, ids[::-1]))]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{n}").exists() for n in (0, 1)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.02)
    go.touch()  # both start claiming at once, from opposite ends
    won = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert not set(won[0]) & set(won[1]) and sorted(won[0] + won[1]) == ids
    assert all(refresh(i).attempt == 1 for i in ids)


def test_redact_removes_secrets_and_credentials(app):
    from app.jobs.redact import redact

    app.config["SMTP_PASSWORD"] = "smtp-Pa55word-xyz"
    text = redact(
        "redis://:r3dispass@127.0.0.1:6379/0 postgresql://bob:p@ss@db.local/x "
        f"key {app.config['SECRET_KEY']} smtp smtp-Pa55word-xyz SMTP_PASSWORD=abc123def "
        '{"api_key": "k-123456"} Authorization: Bearer abcdefghijklmnop token=t0k3n&x=1'
    )
    for secret in ("r3dispass", "p@ss", "bob:", app.config["SECRET_KEY"], "smtp-Pa55word-xyz",
                   "abc123def", "k-123456", "abcdefghijklmnop", "t0k3n"):
        assert secret not in text
    assert "redis://***@127.0.0.1:6379/0" in text and "postgresql://***@db.local/x" in text
    assert redact("see https://example.com/a@b and ann@example.com") == (
        "see https://example.com/a@b and ann@example.com")  # no credentials: untouched
