"""The Huey instance: SQLite by default (its own file), Redis when ``HUEY_URL`` says so.

Only run ids travel through Huey. The one task is registered on the instance when it is
built, so it is importable at consumer start and nothing depends on import order. What
the task does with a run id is given by the app factory (:func:`init_app`'s
``execute``, which is :func:`app.jobs.runs.execute`): this module sits below the run
lifecycle and never imports it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_app_context
from huey import Huey, RedisHuey, SqliteHuey
from redis import ConnectionPool
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.config import ConfigError
from app.jobs.redact import redact
from app.untrusted import mask_url

log = logging.getLogger(__name__)
#: Above this many queued tasks the reaper does not read the whole queue.
MAX_QUEUE_SCAN = 20_000
#: What a task does with its run id (claim and run it, in an app context).
Executor = Callable[[int], Any]
_worker_app: Flask | None = None


def build_huey(app: Flask, execute: Executor) -> Huey:
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
        # Fail fast when Redis is down: a web request must not hang on the queue.
        pool = ConnectionPool.from_url(
            url, socket_connect_timeout=3, socket_timeout=10, retry=Retry(NoBackoff(), 1)
        )
        huey = RedisHuey(name, connection_pool=pool, results=False, immediate=immediate)

    @huey.task(name="execute_run")
    def execute_run(run_id: int) -> None:
        with _task_app().app_context():
            execute(run_id)

    huey.pitchfast_execute = execute_run
    return huey


def set_worker_app(app: Flask | None) -> None:
    """The app tasks run in when they arrive without one (a consumer process)."""
    global _worker_app
    _worker_app = app


def _task_app() -> Flask:
    """The app a task runs in: the caller's (tests, immediate mode) or the consumer's."""
    if has_app_context() or _worker_app is None:
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        return app
    return _worker_app


def init_app(app: Flask, execute: Executor) -> None:
    """Attach a lazily built Huey to the app (no connection is made here)."""
    app.extensions["huey_factory"] = lambda: build_huey(app, execute)


def get_huey(app: Flask | None = None) -> Huey:
    """The app's Huey instance (built on first use)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if "huey" not in app.extensions:
        app.extensions["huey"] = app.extensions["huey_factory"]()
    huey: Huey = app.extensions["huey"]
    return huey


def enqueue(run_id: int, delay: float | None = None) -> bool:
    """Put a run id on the queue. False (logged) if the queue is unreachable: the
    run stays pending and the reaper hands it over later."""
    huey = get_huey()
    try:
        if delay and delay > 0:
            huey.pitchfast_execute.schedule(args=(run_id,), delay=delay)
        else:
            huey.pitchfast_execute(run_id)
        return True
    except Exception as exc:  # queue down: keep the request alive, the reaper retries
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
        log.error("could not read the job queue: %s", redact(exc))
        return None
    return {int(t.args[0]) for t in tasks if t.name.endswith("execute_run") and t.args}


def check_queue(app: Flask) -> None:
    """Fail fast with a clear message when the queue backend cannot be reached."""
    huey = get_huey(app)
    try:
        huey.pending_count()
    except Exception as exc:
        raise ConfigError(
            f"Cannot reach the job queue at {mask_url(app.config['HUEY_URL'])}: {redact(exc)}"
        ) from exc
