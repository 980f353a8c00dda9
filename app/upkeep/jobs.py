"""The "upkeep" run kind: started every ``UPKEEP_INTERVAL_HOURS`` by the worker that does
periodic work (:mod:`app.jobs.periodic`), a run record like every job. It removes, in
short lease-fenced batches, what :mod:`app.upkeep.operations` describes, and its result
holds the figures the Runs page shows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import current_app

from app.activity import SYSTEM
from app.jobs import registry
from app.jobs.context import RunContext
from app.models.base import utcnow
from app.public import operations as public_operations
from app.upkeep import operations
from app.upkeep.operations import Figures, Removed

KIND = "upkeep"
#: Files per batch, and log lines per batch (one short transaction each).
FILE_BATCH = 200
LOG_BATCH = 5000


def _sweep(ctx: RunContext, step: Callable[[int], Removed]) -> Removed:
    """Run ``step(after_id)`` batch after batch, each in its own fenced transaction, until
    one finds fewer candidates than a full batch."""
    total, after_id = Removed(), 0
    while True:
        ctx.check_lease()
        with ctx.fenced():
            batch = step(after_id)
        operations.add(total, batch)
        if batch.scanned < FILE_BATCH:
            return total
        after_id = batch.last_id


@registry.handler(KIND, max_attempts=2)
def run_upkeep(ctx: RunContext) -> dict[str, Any]:
    """Remove unfinished import uploads, old full-size screenshots, old run logs and the
    public pages' day-old visitor keys."""
    cfg = current_app.config
    now = utcnow()
    uploads_before = now - timedelta(hours=int(cfg["IMPORT_UPLOAD_RETENTION_HOURS"]))
    shots_before = now - timedelta(days=int(cfg["SCREENSHOT_RETENTION_DAYS"]))
    logs_before = now - timedelta(days=int(cfg["RUN_LOG_RETENTION_DAYS"]))
    figures = Figures()
    with ctx.phase("unfinished imports"):
        figures.add("uploads", _sweep(ctx, lambda after: operations.remove_stale_uploads(
            before=uploads_before, after_id=after, limit=FILE_BATCH)))
    with ctx.phase("full-size screenshots"):
        figures.add("screenshots", _sweep(ctx, lambda after: operations.remove_full_screenshots(
            before=shots_before, after_id=after, limit=FILE_BATCH)))
    with ctx.phase("run logs"):
        while True:
            with ctx.fenced():
                n = operations.prune_run_logs(before=logs_before, limit=LOG_BATCH)
            figures.log_lines += n
            if n < LOG_BATCH:
                break
    with ctx.phase("public page visitor keys"), ctx.fenced():
        visitor_keys = public_operations.prune_views(now)
    result = figures.as_dict() | {"visitor_keys": visitor_keys, "retention": {
        "uploads_hours": cfg["IMPORT_UPLOAD_RETENTION_HOURS"],
        "screenshots_days": cfg["SCREENSHOT_RETENTION_DAYS"],
        "logs_days": cfg["RUN_LOG_RETENTION_DAYS"]}}
    ctx.log(figures.summary())
    with ctx.fenced():
        operations.record(figures, actor=SYSTEM)
        ctx.complete(result)
    return result


registry.periodic(KIND, "UPKEEP_INTERVAL_HOURS")
