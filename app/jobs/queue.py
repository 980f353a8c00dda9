"""The Huey instance: SQLite by default (its own file), Redis when ``HUEY_URL`` says so.

Only run ids travel through Huey. Tasks are registered on the instance when it is
built, so they are importable at consumer start and nothing depends on import order.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, has_app_context
from huey import Huey, RedisHuey, SqliteHuey, crontab

log = logging.getLogger(__name__)
_worker_app: Flask | None = None


def build_huey(app: Flask) -> Huey:
    """Create the Huey instance from config and register the tasks on it."""
    url: str = app.config["HUEY_URL"]
    immediate = bool(app.config.get("HUEY_IMMEDIATE"))
    if url.startswith("sqlite:///"):
        huey: Huey = SqliteHuey(
            "pitchfast", filename=url[len("sqlite:///") :], results=False, immediate=immediate,
            timeout=30,
        )
    else:
        huey = RedisHuey("pitchfast", url=url, results=False, immediate=immediate)

    @huey.task(name="execute_run")
    def execute_run(run_id: int) -> None:
        with _task_app().app_context():
            from app.jobs.runs import execute

            execute(run_id)

    @huey.periodic_task(crontab(minute="*"), name="reap_runs")
    def reap_runs() -> None:
        with _task_app().app_context():
            from app.jobs.runs import reap

            counts = reap()
            if any(counts.values()):
                log.info("reaper: %s", counts)

    huey.pitchfast_execute = execute_run  # type: ignore[attr-defined]
    return huey


def _task_app() -> Flask:
    if _worker_app is not None:
        return _worker_app
    return current_app._get_current_object()  # type: ignore[attr-defined]


def init_app(app: Flask) -> None:
    """Attach a lazily built Huey to the app (no connection is made here)."""
    app.extensions["huey_factory"] = lambda: build_huey(app)


def get_huey(app: Flask | None = None) -> Huey:
    """The app's Huey instance (built on first use)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if "huey" not in app.extensions:
        app.extensions["huey"] = app.extensions["huey_factory"]()
    return app.extensions["huey"]


def enqueue(run_id: int, delay: float | None = None) -> bool:
    """Put a run id on the queue. False (logged) if the queue is unreachable: the
    run stays pending and the reaper hands it over later."""
    huey = get_huey()
    try:
        if delay:
            huey.pitchfast_execute.schedule(args=(run_id,), delay=delay)  # type: ignore[attr-defined]
        else:
            huey.pitchfast_execute(run_id)  # type: ignore[attr-defined]
        return True
    except Exception as exc:  # queue down: keep the request alive, the reaper retries
        log.error("could not enqueue run %s: %s", run_id, exc)
        return False


def pending_count() -> int:
    """How many tasks wait in Huey's queue (0 if the queue cannot be read)."""
    try:
        return int(get_huey().pending_count())
    except Exception:
        return 0


def run_consumer(app: Flask, workers: int, periodic: bool = True) -> None:
    """Run a Huey consumer with thread workers in this process (blocks)."""
    global _worker_app
    _worker_app = app
    from app.jobs.registry import load_handlers

    load_handlers()
    check_queue(app)
    huey = get_huey(app)
    consumer = huey.create_consumer(
        workers=workers, worker_type="thread", periodic=periodic, check_worker_health=True,
        initial_delay=0.05, max_delay=1.0, backoff=1.3,
    )
    consumer.run()


def check_queue(app: Flask) -> None:
    """Fail fast with a clear message when the queue backend cannot be reached."""
    from app.config import ConfigError

    huey = get_huey(app)
    try:
        huey.pending_count()
    except Exception as exc:
        raise ConfigError(f"Cannot reach the job queue at {app.config['HUEY_URL']}: {exc}") from exc


def current_huey_or_none() -> Any:
    return get_huey() if has_app_context() else None
