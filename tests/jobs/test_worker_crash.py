"""SIGKILL a real worker process mid-job: every run is recovered and finishes exactly once.

A real consumer (``python -m app.cli worker``) runs against a temporary instance
folder whose config.py names this test's database and queue. The test process plays
the reaper (``runs.reap()``), as Huey's periodic tasks run at most once a minute.
Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.jobs import runs
from app.models import Activity, Run, RunLog, RunStatus

PITCHFAST = [sys.executable, "-m", "app.cli"]  # the CLI, wherever this interpreter is
REDIS_URL = os.environ.get("PITCHFAST_TEST_REDIS_URL", "")
LEASE = 3
FINAL = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.DEAD, RunStatus.CANCELED)

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite-queue", "redis-queue"])
def queue_url(request, instance_dir: Path) -> str:
    if request.param == "redis-queue":
        if not REDIS_URL:
            pytest.skip("PITCHFAST_TEST_REDIS_URL is not set: no Redis server to test against")
        return REDIS_URL
    return f"sqlite:///{instance_dir / 'huey.sqlite3'}"


@pytest.fixture
def app_config(app_config: dict[str, Any], queue_url: str) -> dict[str, Any]:
    return {**app_config, "HUEY_URL": queue_url, "HUEY_NAME": f"crash-{uuid.uuid4().hex[:8]}",
            "RUN_LEASE_SECONDS": LEASE, "RUN_REQUEUE_GRACE_SECONDS": 2}


class Workers:
    """Real consumer processes on a temporary instance folder."""

    def __init__(self, app: Any, instance: Path) -> None:
        self.instance = instance
        self.procs: list[subprocess.Popen[bytes]] = []
        cfg = app.config
        keys = ("SECRET_KEY", "DATABASE_URL", "HUEY_URL", "HUEY_NAME", "RUN_LEASE_SECONDS",
                "RUN_REQUEUE_GRACE_SECONDS", "STORAGE_URL")
        body = "".join(f"{k} = {cfg[k]!r}\n" for k in keys)
        (instance / "config.py").write_text(body + "REAPER_INTERVAL_SECONDS = 3600\n")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PITCHFAST_")}
        self.env["PITCHFAST_INSTANCE"] = str(instance)

    def start(self, threads: int = 2) -> subprocess.Popen[bytes]:
        log = open(self.instance / f"worker-{len(self.procs)}.log", "wb")
        proc = subprocess.Popen(
            [*PITCHFAST, "worker", "--threads", str(threads), "--no-periodic"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        self.procs.append(proc)
        return proc

    @staticmethod
    def kill(proc: subprocess.Popen[bytes]) -> None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:]
                         for p in sorted(self.instance.glob("worker-*.log")))


@pytest.fixture
def workers(app: Any, instance_dir: Path) -> Any:
    w = Workers(app, instance_dir)
    yield w
    w.stop_all()


def _where(app: Any) -> str:
    return f"db={db.engine.dialect.name}, queue={app.config['HUEY_URL'].split(':')[0]}"


def snapshot() -> list[tuple[int, RunStatus, str | None]]:
    """(id, status, worker_id) of every run; ends the transaction (SQLite lock!)."""
    rows = db.session.execute(select(Run.id, Run.status, Run.worker_id).order_by(Run.id)).all()
    db.session.rollback()
    return [(r.id, RunStatus(r.status), r.worker_id) for r in rows]


def running_on(pid: int) -> list[int]:
    return [i for i, s, w in snapshot() if s == RunStatus.RUNNING and w and f":{pid}:" in w]


def make_sleep_runs(n: int, lo: float, hi: float, max_attempts: int | None = None) -> list[int]:
    made = [runs.create("sleep", payload={"seconds": round(random.uniform(lo, hi), 2)},
                        max_attempts=max_attempts) for _ in range(n)]
    db.session.commit()
    ids = [r.id for r in made]
    db.session.rollback()
    runs.submit(ids)
    return ids


def wait_until(pred: Any, timeout: float, workers: Workers, what: str, reap: bool = True) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n{workers.logs()}")
        if reap:
            runs.reap()
        time.sleep(0.2)


def verify(ids: list[int]) -> dict[str, Any]:
    """Exactly one sleep.done marker per succeeded run, attempts ≤ max, nothing lost."""
    db.session.rollback()
    rows = db.session.execute(select(Run).where(Run.id.in_(ids))).scalars().all()
    done = Counter(db.session.scalars(
        select(Activity.subject_id).where(Activity.verb == "sleep.done")).all())
    assert len(rows) == len(ids)
    lost = [r.id for r in rows if r.status not in FINAL]
    dup = [i for i, n in done.items() if n > 1]
    over = [r.id for r in rows if r.attempt > r.max_attempts]
    wrong = [r.id for r in rows
             if done[r.id] != (1 if r.status == RunStatus.SUCCEEDED else 0)]
    assert (lost, dup, over, wrong) == ([], [], [], [])
    assert all(r.status == RunStatus.SUCCEEDED for r in rows), Counter(r.status for r in rows)
    attempts = Counter(r.attempt for r in rows)
    db.session.rollback()
    return {"runs": len(rows), "lost": len(lost), "duplicates": len(dup),
            "attempts>max": len(over), "attempts": dict(sorted(attempts.items()))}


def test_sigkill_mid_job_recovers_and_finishes_once(app, workers):
    ids = make_sleep_runs(3, 2.0, 2.0)
    first = workers.start()
    wait_until(lambda: running_on(first.pid), 60, workers, "a run to start", reap=False)
    time.sleep(0.7)  # well inside the 2 s job
    victims = running_on(first.pid)
    workers.kill(first)
    assert victims and all(s == RunStatus.RUNNING for i, s, _ in snapshot() if i in victims)

    workers.start()
    wait_until(lambda: all(s in FINAL for _, s, _ in snapshot()), 90, workers, "all runs")
    figures = verify(ids)
    for run_id in victims:
        run = db.session.get(Run, run_id)
        assert run.attempt == 2 and run.status == RunStatus.SUCCEEDED
        msgs = db.session.scalars(select(RunLog.message).where(RunLog.run_id == run_id)).all()
        assert "lease expired on attempt 1 (worker stopped or crashed)" in msgs
    db.session.rollback()
    print(f"\nsingle SIGKILL ({_where(app)}): {figures}")


def test_dozens_of_sigkills_lose_nothing_and_duplicate_nothing(app, workers):
    rng = random.Random(os.environ.get("PITCHFAST_CRASH_SEED", uuid.uuid4().hex))
    target_kills, budget = 30, 55.0
    ids = make_sleep_runs(24, 0.3, 1.5, max_attempts=12)
    slots: list[dict[str, Any]] = [{"proc": workers.start(), "kill_at": None} for _ in range(6)]
    kills, started = 0, time.monotonic()
    while kills < target_kills and time.monotonic() - started < budget:
        now = time.monotonic()
        for slot in slots:
            proc = slot["proc"]
            if slot["kill_at"] is None and running_on(proc.pid):
                slot["kill_at"] = now + rng.uniform(0.0, 1.0)  # a random point in a job
            elif slot["kill_at"] is not None and now >= slot["kill_at"]:
                workers.kill(proc)
                kills += 1
                slot.update(proc=workers.start(), kill_at=None)
        active = sum(1 for _, s, _ in snapshot() if s not in FINAL)
        if active < 12:
            ids += make_sleep_runs(8, 0.3, 1.5, max_attempts=12)
        runs.reap()
        time.sleep(0.1)
    assert kills >= 24, f"only {kills} kills in {budget} s\n{workers.logs()}"
    wait_until(lambda: all(s in FINAL for _, s, _ in snapshot()), 120, workers, "all runs")
    figures = verify(ids)
    retried = db.session.scalar(select(func.count()).select_from(Run).where(Run.attempt > 1))
    db.session.rollback()
    assert retried > 0  # the kills did interrupt jobs
    print(f"\n{kills} SIGKILLs ({_where(app)}): {figures}, "
          f"runs retried after a kill: {retried}")
