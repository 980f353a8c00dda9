"""Run kinds of outreach delivery (see :mod:`app.outreach.delivery`).

* ``outreach_dispatch``: paces approved messages out into send runs; started every
  ``OUTREACH_DISPATCH_INTERVAL_HOURS`` by the worker that does periodic work, and after
  each approval or resume.
* ``outreach_send``: sends one message at most once; retried with backoff only while the
  server surely did not take the message.
"""

from __future__ import annotations

from typing import Any

from app.jobs import registry
from app.jobs.context import RunContext
from app.outreach import delivery, pacing

registry.periodic(delivery.DISPATCH_KIND, "OUTREACH_DISPATCH_INTERVAL_HOURS")


@registry.handler(delivery.DISPATCH_KIND, max_attempts=3)
def run_dispatch(ctx: RunContext) -> dict[str, Any]:
    """Give approved messages their slots and queue their send runs."""
    counts = pacing.dispatch()
    ctx.log(f"{counts['queued']} message(s) queued from {counts['campaigns']} campaign(s)")
    return counts


@registry.handler(delivery.SEND_KIND, classify=delivery.classify,
                  on_final_failure=delivery.on_final_failure, max_attempts=6)
def run_send(ctx: RunContext) -> dict[str, Any]:
    """Send the message ``ctx.subject_id`` (``("outreach", id)``)."""
    return delivery.send(ctx)
