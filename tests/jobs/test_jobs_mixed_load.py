"""Web requests and worker threads writing at once: 0 "database is locked"
(docs/reliability.md, SQLite).

Worker threads run real runs (claim, heartbeat thread, log lines, fenced completion)
while web threads read the Runs pages and a reaper thread reaps. Bounded by work, not
by time: 24 runs, then the readers stop.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
from jobhelpers import make_run
from sqlalchemy import select

from app.activity import SYSTEM, record
from app.extensions import db
from app.jobs import registry, runs
from app.jobs.context import RunContext
from app.models import Run, RunStatus

N_RUNS, N_WORKERS, N_READERS = 24, 4, 4


@registry.handler("test.chatty")
def _chatty(ctx: RunContext) -> dict[str, Any]:
    for i in range(6):
        with ctx.phase(f"step {i}"):
            time.sleep(0.01)
        ctx.renew()
        ctx.check_lease()
    with ctx.fenced():
        record(SYSTEM, "test.chatty", f"run {ctx.run_id}", subject=("run", ctx.run_id))
        ctx.complete({"steps": 6})
    return {}


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "RUN_LEASE_SECONDS": 30}  # handlers also renew explicitly


def test_web_and_workers_under_mixed_load(app, client, create_user, caplog):
    caplog.set_level(logging.WARNING)
    ids = [make_run("test.chatty").id for _ in range(N_RUNS)]
    todo = list(ids)
    todo_lock, done = threading.Lock(), threading.Event()
    errors: list[str] = []
    statuses: list[int] = []
    redelivered: list[int] = []
    users = [create_user(role="member") for _ in range(N_READERS)]
    emails = [u.email for u in users]
    db.session.rollback()

    def guard(fn: Any) -> Any:
        def run(*args: Any) -> None:
            try:
                fn(*args)
            except Exception as exc:  # collected and asserted below
                errors.append(f"{type(exc).__name__}: {exc}")
        return run

    @guard
    def worker() -> None:
        while True:
            with todo_lock:
                if not todo:
                    return
                run_id = todo.pop()
            with app.app_context():
                outcome = runs.execute(run_id)
            if outcome != "succeeded":  # lease taken over under load: run it again later,
                redelivered.append(run_id)  # as the reaper + Huey would
                time.sleep(0.2)
                with todo_lock:
                    todo.insert(0, run_id)

    @guard
    def reader(email: str) -> None:
        c = app.test_client()  # signs in from its own thread, like a browser tab
        resp = c.post("/login", data={"email": email, "password": "correct horse battery"})
        assert resp.status_code == 302
        n = 0
        while not done.is_set():
            for url, hx in (("/runs/", False), ("/runs/?status=running", True),
                            (f"/runs/{ids[n % len(ids)]}", False)):
                resp = c.get(url, headers={"HX-Request": "true"} if hx else {})
                statuses.append(resp.status_code)
            n += 1
            time.sleep(0.005)

    @guard
    def reaper() -> None:
        while not done.is_set():
            with app.app_context():
                runs.reap()
            time.sleep(0.05)

    workers = [threading.Thread(target=worker) for _ in range(N_WORKERS)]
    others = [threading.Thread(target=reader, args=(e,)) for e in emails]
    others.append(threading.Thread(target=reaper))
    for t in workers + others:
        t.start()
    for t in workers:
        t.join(timeout=300)
    done.set()
    for t in others:
        t.join(timeout=60)

    locked = [e for e in errors if "locked" in e] + [
        r.getMessage() for r in caplog.records if "database is locked" in r.getMessage()]
    assert locked == [] and errors == []
    assert statuses and set(statuses) <= {200, 286}
    got = db.session.scalars(select(Run.status).where(Run.id.in_(ids))).all()
    assert got == [RunStatus.SUCCEEDED] * N_RUNS
    print(f"\nmixed load ({db.engine.dialect.name}): {N_RUNS} runs by {N_WORKERS} workers, "
          f"{len(statuses)} page reads by {N_READERS} readers, 'database is locked': 0, "
          f"redelivered after a lost lease: {len(redelivered)}")
