"""The Huey instance: SQLite by default (its own file), Redis when ``HUEY_URL`` says so.

Only run ids travel through Huey. Tasks are registered on the instance when it is
built, so they are importable at consumer start and nothing depends on import order.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, current_app, has_app_context
from huey import Huey, RedisHuey, SqliteHuey

log = logging.getLogger(__name__)
_worker_app: Flask | None = None
#: Above this many queued tasks the reaper does not read the whole queue.
MAX_QUEUE_SCAN = 20_000


def build_huey(app: Flask) -> Huey:
    """Create the Huey instance from config and register the task on it."""
    url: str = app.config["HUEY_URL"]
    immediate = bool(app.config.get("HUEY_IMMEDIATE"))
    name = str(app.config.get("HUEY_NAME") or "pitchfast")
    if url.startswith("sqlite:///"):
        huey: Huey = SqliteHuey(
            name, filename=url[len("sqlite:///"):], results=False, immediate=immediate,
            timeout=30,
        )
    else:
        from redis import ConnectionPool
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # Fail fast when Redis is down: a web request must not hang on the queue.
        pool = ConnectionPool.from_url(
            url, socket_connect_timeout=3, socket_timeout=10, retry=Retry(NoBackoff(), 1)
        )
        huey = RedisHuey(name, connection_pool=pool, results=False, immediate=immediate)

    @huey.task(name="execute_run")
    def execute_run(run_id: int) -> None:
        with _task_app().app_context():
            from app.jobs.runs import execute

            execute(run_id)

    huey.pitchfast_execute = execute_run  # type: ignore[attr-defined]
    return huey


def _task_app() -> Flask:
    """The app a task runs in: the caller's (tests, immediate mode) or the consumer's."""
    if has_app_context() or _worker_app is None:
        return current_app._get_current_object()  # type: ignore[attr-defined]
    return _worker_app


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
        if delay and delay > 0:
            huey.pitchfast_execute.schedule(args=(run_id,), delay=delay)  # type: ignore[attr-defined]
        else:
            huey.pitchfast_execute(run_id)  # type: ignore[attr-defined]
        return True
    except Exception as exc:  # queue down: keep the request alive, the reaper retries
        from app.jobs.redact import redact

        log.error("could not enqueue run %s: %s", run_id, redact(exc))
        return False


def pending_count() -> int:
    """How many tasks wait in Huey's queue (0 if the queue cannot be read)."""
    try:
        return int(get_huey().pending_count())
    except Exception:
        return 0


def queued_run_ids() -> set[int] | None:
    """Run ids waiting in Huey (queue and schedule); None if unreadable or too large."""
    huey = get_huey()
    try:
        if huey.pending_count() + huey.scheduled_count() > MAX_QUEUE_SCAN:
            return None
        tasks = list(huey.pending()) + list(huey.scheduled())
    except Exception as exc:
        from app.jobs.redact import redact

        log.error("could not read the job queue: %s", redact(exc))
        return None
    return {int(t.args[0]) for t in tasks if t.name.endswith("execute_run") and t.args}


class Reaper(threading.Thread):
    """Calls :func:`app.jobs.runs.reap` every ``REAPER_INTERVAL_SECONDS`` (one per install)."""

    def __init__(self, app: Flask) -> None:
        super().__init__(name="pitchfast-reaper", daemon=True)
        self.app = app
        self.interval = float(app.config["REAPER_INTERVAL_SECONDS"])
        self.stop = threading.Event()

    def run(self) -> None:
        from app.extensions import db
        from app.jobs.runs import reap

        while not self.stop.wait(self.interval):
            with self.app.app_context():
                try:
                    counts = reap()
                    if any(counts.values()):
                        log.info("reaper: %s", counts)
                except Exception:  # a busy DB or a down queue: try again next round
                    log.exception("reaper failed")
                finally:
                    db.session.remove()


def run_consumer(app: Flask, workers: int, periodic: bool = True) -> None:
    """Run a Huey consumer with thread workers in this process (blocks).

    ``periodic`` also starts the reaper thread: enable it on exactly one consumer.
    """
    global _worker_app
    from app.jobs.registry import load_handlers

    load_handlers()
    check_queue(app)
    _worker_app = app
    huey = get_huey(app)
    consumer = huey.create_consumer(
        workers=workers, worker_type="thread", periodic=periodic, check_worker_health=True,
        initial_delay=0.05, max_delay=1.0, backoff=1.3,
    )
    reaper = Reaper(app) if periodic else None
    if reaper:
        reaper.start()
    log.info("worker started: %s threads, queue %s, reaper %s", workers,
             app.config["HUEY_URL"].split("://")[0], "on" if reaper else "off")
    try:
        consumer.run()
    finally:
        _worker_app = None
        if reaper:
            reaper.stop.set()


def check_queue(app: Flask) -> None:
    """Fail fast with a clear message when the queue backend cannot be reached."""
    from app.config import ConfigError
    from app.jobs.redact import redact

    huey = get_huey(app)
    try:
        huey.pending_count()
    except Exception as exc:
        raise ConfigError(
            f"Cannot reach the job queue at {redact(app.config['HUEY_URL'])}: {exc}"
        ) from exc
