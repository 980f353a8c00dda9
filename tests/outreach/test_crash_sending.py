"""SIGKILL the sending worker at random points, dozens of times: no Message-ID reaches the
SMTP server twice, and every approved message ends sent, failed or unknown.

Real consumer processes (``python -m app.cli worker``) send through the real SMTP server of
this test (aiosmtpd with STARTTLS and AUTH, answering the data after a random pause so
kills land mid-conversation). The test process plays the reaper (``runs.reap()``). Run
with ``-s`` to see the figures. Also: the pacing caps hold with two worker processes
dispatching at once.
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

import authoring_support as f
import pytest
from deliveryhelpers import SmtpServer, approved_message
from sqlalchemy import select

from app.extensions import db
from app.jobs import runs
from app.models import Campaign, Outreach, OutreachStatus, Run, RunStatus

PITCHFAST = [sys.executable, "-m", "app.cli"]
OS = OutreachStatus
SETTLED = (OS.SENT, OS.FAILED, OS.UNKNOWN)
LEASE = 2

pytestmark = pytest.mark.slow


@pytest.fixture
def app_config(app_config: dict[str, Any], smtp: SmtpServer) -> dict[str, Any]:
    return {**app_config, **smtp.config(SMTP_TIMEOUT_SECONDS=5),
            "HUEY_NAME": f"send-crash-{uuid.uuid4().hex[:8]}", "RUN_LEASE_SECONDS": LEASE,
            "RUN_REQUEUE_GRACE_SECONDS": 1, "PUBLIC_BASE_URL": "https://pitch.example.com",
            "OUTREACH_PAUSE_AFTER_FAILURES": 1000}


class Workers:
    """Real consumer processes on a temporary instance folder pointing at this test's
    database, queue and SMTP server."""

    KEYS = ("SECRET_KEY", "DATABASE_URL", "HUEY_URL", "HUEY_NAME", "RUN_LEASE_SECONDS",
            "RUN_REQUEUE_GRACE_SECONDS", "STORAGE_URL", "SMTP_HOST", "SMTP_PORT",
            "SMTP_SECURITY", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_CA_FILE",
            "SMTP_TIMEOUT_SECONDS", "PUBLIC_BASE_URL", "OUTREACH_PAUSE_AFTER_FAILURES")

    def __init__(self, app: Any, instance: Path) -> None:
        self.instance = instance
        self.procs: list[subprocess.Popen[bytes]] = []
        body = "".join(f"{k} = {app.config[k]!r}\n" for k in self.KEYS)
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


def statuses() -> Counter[OS]:
    found = Counter(OS(s) for s in db.session.scalars(select(Outreach.status)))
    db.session.rollback()
    return found


def sending_on(pid: int) -> bool:
    """True when this worker process holds a send run right now."""
    rows = db.session.execute(select(Run.worker_id).where(
        Run.kind == "outreach_send", Run.status == RunStatus.RUNNING)).all()
    db.session.rollback()
    return any(w and f":{pid}:" in w for (w,) in rows)


def approve_batch(n: int, camp: Campaign | None, start: int) -> Campaign:
    """``n`` approved messages to distinct addresses (committed; dispatch kicked)."""
    for i in range(start, start + n):
        if camp is None:
            approved_message(name=f"Shop {i}", email=f"owner{i}@shop{i}.example")
            camp = db.session.scalars(select(Campaign)).one()
        else:
            approved_message(name=f"Shop {i}", email=f"owner{i}@shop{i}.example", camp=camp)
    # Publishing a page also queued its PDF (a browser job): not what this test is about.
    db.session.execute(Run.__table__.update().where(
        Run.kind.notin_(("outreach_dispatch", "outreach_send")),
        Run.status == RunStatus.PENDING).values(status=RunStatus.CANCELED))
    db.session.commit()
    assert camp is not None
    return camp


def wait_until(pred: Any, timeout: float, workers: Workers, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}: {statuses()}\n{workers.logs()}")
        runs.reap()
        time.sleep(0.2)


def test_dozens_of_sigkills_never_send_a_message_twice(app, smtp, workers):
    rng = random.Random(os.environ.get("PITCHFAST_CRASH_SEED", uuid.uuid4().hex))
    smtp.behaviour.random_data_delay = 0.5
    target_kills, budget = 30, 150.0  # a loaded CI machine needs longer per kill
    f.agency()
    camp = approve_batch(12, None, 0)
    made = 12
    slots: list[dict[str, Any]] = [{"proc": workers.start(), "kill_at": None}
                                   for _ in range(4)]
    kills, started = 0, time.monotonic()
    while kills < target_kills and time.monotonic() - started < budget:
        now = time.monotonic()
        for slot in slots:
            if slot["kill_at"] is None and sending_on(slot["proc"].pid):
                slot["kill_at"] = now + rng.uniform(0.0, 0.6)  # a random point mid-send
            elif slot["kill_at"] is not None and now >= slot["kill_at"]:
                workers.kill(slot["proc"])
                kills += 1
                slot.update(proc=workers.start(), kill_at=None)
        counts = statuses()
        if counts[OS.APPROVED] + counts[OS.QUEUED] + counts[OS.SENDING] < 6:
            approve_batch(6, camp, made)
            made += 6
        runs.reap()
        time.sleep(0.1)
    assert kills >= 24, f"only {kills} kills in {budget} s\n{workers.logs()}"
    smtp.behaviour.random_data_delay = 0.0
    # Retries of interrupted (never started) sends wait out their backoff: make them due.
    db.session.execute(Run.__table__.update().where(
        Run.kind == "outreach_send", Run.status == RunStatus.PENDING).values(not_before=None))
    db.session.commit()
    wait_until(lambda: set(statuses()) <= set(SETTLED), 60, workers, "every message settled")

    received = Counter(r.message["Message-ID"] for r in smtp.received)
    rows = db.session.scalars(select(Outreach)).all()
    by_id = {o.message_id: o for o in rows}
    duplicates = [m for m, n in received.items() if n > 1]
    assert duplicates == []
    assert all(OS(o.status) in SETTLED for o in rows), Counter(o.status for o in rows)
    # every message marked sent reached the server exactly once; a failed one never did
    assert all(received[o.message_id] == 1 for o in rows if o.status == OS.SENT)
    assert all(received[o.message_id] == 0 for o in rows if o.status == OS.FAILED)
    assert set(received) <= set(by_id)
    counts = Counter(OS(o.status).value for o in rows)
    unknown_delivered = sum(1 for o in rows if o.status == OS.UNKNOWN and received[o.message_id])
    db.session.rollback()
    print(f"\nsend crash: {kills} SIGKILLs in {time.monotonic() - started:.0f} s, "
          f"{len(rows)} messages {dict(counts)}, {len(smtp.received)} received, "
          f"0 duplicate Message-IDs ({unknown_delivered} of the unknown did arrive)")


def test_caps_hold_with_two_worker_processes(app, smtp, workers):
    f.agency()
    camp = approve_batch(1, None, 0)
    db.session.get(Campaign, camp.id).daily_cap = 7
    db.session.get(Campaign, camp.id).domain_daily_cap = 2
    db.session.commit()
    for i in range(1, 13):  # 12 more: 8 in two domains (the domain cap bites), 4 apart
        domain = f"d{i % 2}" if i <= 8 else f"solo{i}"
        approved_message(name=f"Two {i}", email=f"x{i}@{domain}.example", camp=camp)
    db.session.rollback()
    # Two workers, many dispatch runs at once (every approval kicked one).
    workers.start(threads=4)
    workers.start(threads=4)
    extra = [runs.create("outreach_dispatch").id for _ in range(8)]
    db.session.commit()
    runs.submit(extra)
    wait_until(lambda: statuses()[OS.QUEUED] + statuses()[OS.SENDING] == 0
               and statuses()[OS.SENT] >= 7, 60, workers, "the capped sends")
    time.sleep(1.0)  # let any over-cap send that slipped through show up
    counts = statuses()
    per_domain = Counter(r.rcpt_tos[0].rpartition("@")[2] for r in smtp.received)
    # shop0, two each of d0 and d1, then two of the four solo domains: the daily cap
    assert counts[OS.SENT] == 7 == len(smtp.received)
    assert counts[OS.APPROVED] == 13 - 7
    assert per_domain["d0.example"] == per_domain["d1.example"] == 2
    print(f"\ntwo workers: daily cap 7, per-domain cap 2 → {len(smtp.received)} sent, "
          f"per domain {dict(per_domain)}")
