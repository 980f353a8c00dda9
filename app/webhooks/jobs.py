"""The "webhook" run handler: one delivery, one run (its subject is the delivery).

Steps of one attempt:

1. Read the delivery and its endpoint, then end the transaction: nothing stays open
   across the network. A deleted delivery or a disabled endpoint ends the run for good.
2. Sign and POST through the network guard (:mod:`app.webhooks.delivery`).
3. Record the attempt on the delivery (fenced). Delivered: the run succeeds and the
   endpoint's run of failures ends. Otherwise the exception raised lets the runs core
   retry with backoff (5xx, 408, 429, network) or fail at once (other answers).
4. When a delivery fails for good (``on_final_failure``), the endpoint counts one more
   failed delivery in a row and is disabled, with the reason, at ``WEBHOOK_DISABLE_AFTER``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import update

from app import activity
from app.extensions import db
from app.jobs import registry
from app.jobs.context import RunContext
from app.models import DeliveryStatus, Run, WebhookDelivery, WebhookEndpoint
from app.models.base import utcnow
from app.webhooks import delivery as wire
from app.webhooks import signing, targets
from app.webhooks.events import KIND, SUBJECT

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """An attempt that did not deliver; ``transient`` says whether a retry may help."""

    def __init__(self, code: str, message: str, transient: bool) -> None:
        super().__init__(message)
        self.code, self.message, self.transient = code, message, transient


def classify(exc: BaseException) -> tuple[str, bool]:
    """(error code, transient?) of what the handler raised."""
    if isinstance(exc, DeliveryError):
        return exc.code, exc.transient
    return registry.default_classify(exc)


def _load(ctx: RunContext) -> tuple[str, str, dict[str, Any]]:
    found = db.session.get(WebhookDelivery, ctx.subject_id) if ctx.subject_type == SUBJECT \
        else None
    if found is None:
        raise DeliveryError("delivery_missing", "The delivery no longer exists (its endpoint "
                            "was deleted).", False)
    endpoint = db.session.get(WebhookEndpoint, found.endpoint_id)
    if endpoint is None or not endpoint.enabled:
        raise DeliveryError("endpoint_disabled", "The endpoint is disabled; re-enable it and "
                            "retry this run to send the delivery.", False)
    return endpoint.url, endpoint.secret_salt, dict(found.body)


def _record(ctx: RunContext, outcome: wire.Attempt) -> None:
    """The attempt on the delivery (and, when delivered, on its endpoint), fenced."""
    with ctx.fenced():
        row = db.session.get(WebhookDelivery, ctx.subject_id)
        if row is None:
            return
        now = utcnow()
        row.attempts += 1
        row.last_attempt_at, row.duration_ms = now, outcome.duration_ms
        row.status_code, row.response_excerpt = outcome.status_code, outcome.excerpt
        row.error_code = None if outcome.ok else outcome.code
        row.error = None if outcome.ok else outcome.message[:500]
        if not outcome.ok:  # pending until retries run out (also after a manual retry)
            row.status, row.finished_at = DeliveryStatus.PENDING, None
        else:
            row.status, row.finished_at = DeliveryStatus.DELIVERED, now
            db.session.execute(
                update(WebhookEndpoint).where(WebhookEndpoint.id == row.endpoint_id)
                .values(consecutive_failures=0, last_delivery_at=now,
                        last_delivery_status="delivered",
                        last_status_code=outcome.status_code))
            ctx.complete({"delivery": row.public_id, "status_code": outcome.status_code,
                          "duration_ms": outcome.duration_ms})


def on_final_failure(run: Run, code: str, message: str) -> None:
    """The delivery failed for good: marked so, and counted against its endpoint, which is
    disabled after ``WEBHOOK_DISABLE_AFTER`` such deliveries in a row. A delivery skipped
    because its endpoint was disabled, or canceled by a person, counts for nothing."""
    row = db.session.get(WebhookDelivery, run.subject_id) if run.subject_type == SUBJECT \
        else None
    if row is None:
        return
    now = utcnow()
    skipped = code in ("endpoint_disabled", "canceled")
    row.status = DeliveryStatus.SKIPPED if skipped else DeliveryStatus.FAILED
    row.finished_at, row.error_code, row.error = now, code[:40], message[:500]
    if skipped:
        return
    db.session.execute(
        update(WebhookEndpoint).where(WebhookEndpoint.id == row.endpoint_id)
        .values(consecutive_failures=WebhookEndpoint.consecutive_failures + 1,
                last_delivery_at=now, last_delivery_status="failed",
                last_status_code=row.status_code))
    endpoint = db.session.get(WebhookEndpoint, row.endpoint_id, populate_existing=True)
    limit = int(current_app.config["WEBHOOK_DISABLE_AFTER"])
    if endpoint is None or not endpoint.enabled or endpoint.consecutive_failures < limit:
        return
    endpoint.enabled, endpoint.disabled_at = False, now
    endpoint.disabled_reason = (
        f"Disabled automatically after {endpoint.consecutive_failures} deliveries in a row "
        f"failed; the last one: {code}: {targets.scrub(message, endpoint.url)}")[:500]
    activity.record(activity.SYSTEM, "webhook.disabled",
                    f"Webhook to {targets.origin(endpoint.url)} disabled after "
                    f"{endpoint.consecutive_failures} failed deliveries in a row",
                    subject=("webhook_endpoint", endpoint.id))
    log.warning("webhook endpoint %s disabled: %s", endpoint.id, endpoint.disabled_reason)


@registry.handler(KIND, classify=classify, on_final_failure=on_final_failure, max_attempts=6)
def run_delivery(ctx: RunContext) -> dict[str, Any]:
    """Send the delivery in ``ctx.subject_id`` once."""
    url, salt, body = _load(ctx)
    db.session.rollback()  # no transaction across the network
    config = current_app.config
    secret = signing.derive_secret(config["SECRET_KEY"], salt)
    outcome = wire.attempt(url, secret, body, config)
    ctx.check_lease()
    _record(ctx, outcome)
    # One line per attempt (the runs core logs the error and the retry itself).
    sent = f"POST {targets.origin(url)} ({body.get('event')}, {body.get('id')})"
    if not outcome.ok:
        ctx.log(f"{sent}: {outcome.code}" + (f", answer: {outcome.excerpt[:200]}"
                                             if outcome.excerpt else ""),
                level="warning", duration_ms=outcome.duration_ms)
        raise DeliveryError(outcome.code or "failed", outcome.message, outcome.transient)
    ctx.log(f"{sent}: delivered, HTTP {outcome.status_code}", duration_ms=outcome.duration_ms)
    return {"status_code": outcome.status_code, "duration_ms": outcome.duration_ms}
