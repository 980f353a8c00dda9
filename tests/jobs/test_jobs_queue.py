"""The queue backends for real (SQLite file, Redis server), the reaper thread, the CLI."""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from jobhelpers import closed_port, expire_lease, make_run, refresh, set_run

from app.jobs import registry, runs
from app.jobs.queue import get_huey
from app.jobs.worker import Reaper
from app.models import RunStatus
from app.models.base import utcnow

REDIS_URL = os.environ.get("PITCHFAST_TEST_REDIS_URL", "")


def test_default_queue_is_its_own_sqlite_file(app, instance_dir: Path):
    from huey import SqliteHuey

    huey = get_huey(app)
    assert isinstance(huey, SqliteHuey)
    assert Path(huey.storage.filename) == instance_dir / "huey.sqlite3"
    assert huey.storage.filename != app.config["SQLALCHEMY_DATABASE_URI"].split("///")[-1]


@pytest.mark.redis
class TestRedisQueue:
    @pytest.fixture
    def app_config(self, app_config):
        if not REDIS_URL:
            pytest.skip("PITCHFAST_TEST_REDIS_URL is not set: no Redis server to test against")
        return {**app_config, "HUEY_URL": REDIS_URL, "HUEY_NAME": f"t-{uuid.uuid4().hex[:8]}"}

    def test_submit_and_run_through_redis(self, app, huey, drain):
        from huey import RedisHuey

        assert isinstance(huey, RedisHuey)
        run = make_run()
        runs.submit([run.id])
        assert huey.storage.conn.llen(huey.storage.queue_key) == 1  # really in Redis
        assert drain() == 1
        assert refresh(run.id).status == RunStatus.SUCCEEDED

    def test_retry_is_scheduled_in_redis(self, app, huey, drain):
        run = make_run("test.transient")
        runs.submit([run.id])
        drain()
        assert refresh(run.id).status == RunStatus.PENDING
        assert huey.storage.conn.zcard(huey.storage.schedule_key) == 1
        assert [t.args for t in huey.scheduled()] == [(run.id,)]

    def test_reaper_sees_what_redis_holds(self, app, huey):
        kept, lost = make_run(), make_run()
        runs.submit([kept.id, lost.id])
        old = utcnow() - timedelta(minutes=5)
        set_run(kept.id, enqueued_at=old)
        set_run(lost.id, enqueued_at=old)
        task = huey.dequeue()  # a consumer takes the first one and dies
        assert task.args == (kept.id,)
        assert runs.reap()["resubmitted"] == 1
        assert sorted(t.args[0] for t in huey.pending()) == sorted([lost.id, kept.id])


def test_reaper_thread_recovers_expired_leases(app, huey):
    app.config["REAPER_INTERVAL_SECONDS"] = 0.1
    run = make_run()
    runs.claim(run.id, 60)
    expire_lease(run.id)
    reaper = Reaper(app)
    reaper.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (
                refresh(run.id).status == RunStatus.PENDING and huey.pending_count()):
            from app.extensions import db

            db.session.rollback()
            time.sleep(0.05)
    finally:
        reaper.stop.set()
        reaper.join(10)
    assert refresh(run.id).status == RunStatus.PENDING
    handed = [t.args[0] for t in huey.pending()]
    assert handed.count(run.id) == 1
    # The same thread also starts the periodic runs that are due (upkeep, outreach dispatch).
    others = [refresh(i).kind for i in handed if i != run.id]
    assert set(others) <= set(registry.PERIODIC)


def test_worker_command_has_no_periodic_flag(runner):
    from app.cli import main

    result = runner.invoke(main, ["worker", "--help"])
    assert result.exit_code == 0 and "--no-periodic" in result.output


class TestWorkerQueueDown:
    @pytest.fixture
    def app_config(self, app_config):
        return {**app_config, "HUEY_URL": f"redis://:s3cretpass@127.0.0.1:{closed_port()}/0"}

    def test_worker_refuses_to_start_with_a_clear_message(self, runner):
        from app.cli import main

        result = runner.invoke(main, ["worker", "--threads", "1"])
        assert result.exit_code != 0
        assert "Cannot reach the job queue at redis://***@127.0.0.1" in result.output
        assert "s3cretpass" not in result.output
