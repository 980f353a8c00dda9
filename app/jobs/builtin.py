"""Built-in run kinds: ``noop`` (health check) and ``sleep`` (used by crash tests)."""

from __future__ import annotations

import time
from typing import Any

from app.activity import SYSTEM, record
from app.jobs.context import RunContext
from app.jobs.registry import handler


@handler("noop")
def noop(ctx: RunContext) -> dict[str, Any]:
    """Do nothing; proves the worker is alive."""
    ctx.log("noop ran")
    return {"ok": True}


@handler("sleep", max_attempts=5)
def sleep(ctx: RunContext) -> dict[str, Any]:
    """Sleep ``payload.seconds`` in small steps, then write a fenced marker row.

    Used by tests that SIGKILL a worker mid-job: the marker (a ``sleep.done`` activity
    row) is written with the completion in one fenced transaction and deliberately not
    de-duplicated, so a second execution would show up as a second row.
    """
    seconds = float(ctx.payload.get("seconds", 1))
    with ctx.phase("sleep"):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.05)
            ctx.check_lease()
    with ctx.fenced():
        record(SYSTEM, "sleep.done", f"run {ctx.run_id} attempt {ctx.attempt}",
               subject=("run", ctx.run_id))
        ctx.complete({"slept": seconds, "attempt": ctx.attempt})
    return {"slept": seconds}
