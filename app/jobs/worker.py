"""The worker process: a Huey consumer with thread workers, plus the reaper thread."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from app.extensions import db
from app.jobs import periodic, queue
from app.jobs.reaper import reap

log = logging.getLogger(__name__)


class Reaper(threading.Thread):
    """Calls :func:`app.jobs.reaper.reap` and starts the periodic runs that are due
    (:func:`app.jobs.periodic.start_due`) every ``REAPER_INTERVAL_SECONDS`` (one per install)."""

    def __init__(self, app: Flask) -> None:
        super().__init__(name="pitchfast-reaper", daemon=True)
        self.app = app
        self.interval = float(app.config["REAPER_INTERVAL_SECONDS"])
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            with self.app.app_context():
                try:
                    counts = reap()
                    if any(counts.values()):
                        log.info("reaper: %s", counts)
                    started = periodic.start_due()
                    if started:
                        log.info("periodic runs started: %s", started)
                except Exception:  # a busy DB or a down queue: try again next round
                    log.exception("reaper failed")
                finally:
                    db.session.remove()


def run_consumer(app: Flask, workers: int, periodic: bool = True) -> None:
    """Run a Huey consumer with thread workers in this process (blocks).

    ``periodic`` also starts the reaper thread: enable it on exactly one consumer.
    Every run kind is known already: the app factory imports the handler modules.
    """
    queue.check_queue(app)
    queue.set_worker_app(app)
    huey = queue.get_huey(app)
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
        queue.set_worker_app(None)
        if reaper:
            reaper.stop.set()
