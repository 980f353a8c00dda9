"""The one seam through which the rest of the app announces an event to webhooks.

Operations call :func:`emit` inside their transaction (never after a commit); deliveries
are queued for every enabled endpoint subscribed to the event and reach the queue only
once that transaction commits.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.jobs import runs
from app.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

#: Every event a webhook endpoint can subscribe to.
EVENTS = (
    "audit.finished",
    "audit.failed",
    "page.viewed",
    "outreach.sent",
    "outreach.replied",
    "lead.unsubscribed",
)
#: The event of the "Send test event" button (never emitted by anything else).
TEST_EVENT = "webhook.test"
#: The run kind and subject type of a delivery.
KIND = "webhook"
SUBJECT = "webhook_delivery"


def emit(event: str, data: Mapping[str, Any]) -> list[WebhookDelivery]:
    """Announce ``event`` with its JSON-serialisable ``data`` (ids and public facts only).

    Adds one delivery (and its run) per enabled endpoint subscribed to ``event`` to the
    caller's session, flushed; the runs reach the queue once the caller commits, and not
    at all if it rolls back. Returns the deliveries (none when nobody listens).
    """
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    endpoints = db.session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))
        .order_by(WebhookEndpoint.id)
    ).all()
    queued = []
    for endpoint in endpoints:
        if not endpoint.subscribes(event):
            continue
        try:
            # A savepoint each: an endpoint deleted meanwhile (PostgreSQL, READ COMMITTED)
            # costs its delivery, never the caller's transaction.
            with db.session.begin_nested():
                queued.append(queue_delivery(endpoint, event, data))
        except IntegrityError:
            log.warning("webhook endpoint %s vanished; %s not queued for it", endpoint.id, event)
    return queued


def queue_delivery(endpoint: WebhookEndpoint, event: str, data: Mapping[str, Any],
                   *, created_by_id: int | None = None) -> WebhookDelivery:
    """One delivery of ``event`` to ``endpoint`` with its run, handed to the queue after the
    commit. The body is fixed now, so every retry sends the same bytes and the same id."""
    public_id = "dlv_" + secrets.token_hex(16)
    created_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"id": public_id, "event": event, "created_at": created_at, "data": dict(data)}
    json.dumps(body, allow_nan=False)  # a caller's bug (unserialisable data) fails here
    host = urlsplit(endpoint.url).netloc
    delivery = WebhookDelivery(endpoint_id=endpoint.id, public_id=public_id, event=event,
                               label=f"{event} → {host}"[:200], body=body,
                               status=DeliveryStatus.PENDING)
    db.session.add(delivery)
    db.session.flush()
    run = runs.create(KIND, subject=(SUBJECT, delivery.id), created_by_id=created_by_id,
                      max_attempts=int(current_app.config["WEBHOOK_MAX_ATTEMPTS"]))
    delivery.run_id = run.id
    runs.submit_after_commit([run.id])
    return delivery
