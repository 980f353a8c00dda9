"""Writes on webhook endpoints: register, rotate the secret, disable, re-enable, delete,
send a test event. Each takes the acting :class:`~app.activity.Actor`, flushes, never
commits, and records its activity; deliveries are queued through
:func:`app.webhooks.events.queue_delivery` (handed to the worker after the commit).

The signing secret is returned by :func:`create_endpoint` and :func:`rotate_secret` only:
it is derived from ``SECRET_KEY`` and a per-endpoint salt and never stored
(:mod:`app.webhooks.signing`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from app import activity
from app.activity import Actor
from app.audits.engine.netguard import TargetError
from app.extensions import db
from app.jobs import runs
from app.models import DeliveryStatus, Run, RunStatus, WebhookDelivery, WebhookEndpoint
from app.models.base import utcnow
from app.untrusted import clean_text
from app.webhooks import signing, targets
from app.webhooks.events import EVENTS, KIND, SUBJECT, TEST_EVENT, queue_delivery


class WebhookError(ValueError):
    """A refused request, for people; ``field`` names the form field it is about."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.field = message, field


@dataclass(frozen=True)
class Issued:
    """An endpoint with its signing secret, shown this once."""

    endpoint: WebhookEndpoint
    secret: str


def _events(chosen: Iterable[str]) -> list[str]:
    picked = list(dict.fromkeys(str(e) for e in chosen))
    unknown = [e for e in picked if e not in EVENTS]
    if unknown:
        raise WebhookError(f"Unknown event {unknown[0]!r}.", "events")
    if not picked:
        raise WebhookError("Choose at least one event.", "events")
    return [e for e in EVENTS if e in picked]


def checked_url(raw: str, config: Mapping[str, Any]) -> str:
    """The canonical URL if it is an allowed webhook target (the name is resolved: call it
    with no transaction open); :class:`WebhookError` for the ``url`` field otherwise."""
    text = str(raw or "").strip()
    if not text:
        raise WebhookError("Enter the URL that should receive the events.", "url")
    if len(text) > 2000:
        raise WebhookError("The URL is too long (at most 2,000 characters).", "url")
    try:
        return targets.check_url(text, config)
    except TargetError as exc:
        raise WebhookError(targets.explain(exc, text), "url") from None


def create_endpoint(url: str, events: Iterable[str], *, actor: Actor,
                    config: Mapping[str, Any], description: str | None = None) -> Issued:
    """Register an endpoint after checking its URL like an audit target (resolved before
    any database statement, so no transaction waits on DNS)."""
    chosen = _events(events)
    canonical = checked_url(url, config)
    note = clean_text(description or "").strip()[:120] or None
    salt = signing.new_salt()
    endpoint = WebhookEndpoint(url=canonical, description=note, events=chosen,
                               secret_salt=salt, enabled=True, consecutive_failures=0,
                               created_by_id=actor.user_id)
    db.session.add(endpoint)
    db.session.flush()
    activity.record(actor, "webhook.created",
                    f"added a webhook to {targets.origin(canonical)} ({', '.join(chosen)})",
                    subject=("webhook_endpoint", endpoint.id))
    return Issued(endpoint, signing.derive_secret(config["SECRET_KEY"], salt))


def rotate_secret(endpoint: WebhookEndpoint, *, actor: Actor,
                  config: Mapping[str, Any]) -> Issued:
    """A new signing secret at once; the old one stops working (for the next attempt of
    every delivery too)."""
    endpoint.secret_salt = signing.new_salt()
    endpoint.secret_rotated_at = utcnow()
    db.session.flush()
    activity.record(actor, "webhook.secret_rotated",
                    f"rotated the signing secret of the webhook to {targets.origin(endpoint.url)}",
                    subject=("webhook_endpoint", endpoint.id))
    return Issued(endpoint, signing.derive_secret(config["SECRET_KEY"], endpoint.secret_salt))


def disable_endpoint(endpoint: WebhookEndpoint, *, actor: Actor) -> None:
    """Stop sending to the endpoint (deliveries not yet sent are skipped)."""
    if not endpoint.enabled:
        return
    endpoint.enabled, endpoint.disabled_at = False, utcnow()
    endpoint.disabled_reason = f"Disabled by {actor.label}."[:500]
    db.session.flush()
    activity.record(actor, "webhook.disabled",
                    f"disabled the webhook to {targets.origin(endpoint.url)}",
                    subject=("webhook_endpoint", endpoint.id))


def enable_endpoint(endpoint: WebhookEndpoint, *, actor: Actor) -> None:
    """Send to the endpoint again; its count of failed deliveries starts from zero."""
    if endpoint.enabled:
        return
    endpoint.enabled = True
    endpoint.disabled_at = endpoint.disabled_reason = None
    endpoint.consecutive_failures = 0
    db.session.flush()
    activity.record(actor, "webhook.enabled",
                    f"re-enabled the webhook to {targets.origin(endpoint.url)}",
                    subject=("webhook_endpoint", endpoint.id))


def delete_endpoint(endpoint: WebhookEndpoint, *, actor: Actor) -> None:
    """Delete the endpoint and its delivery log; its deliveries not yet sent are canceled."""
    delivery_ids = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id,
                                                   WebhookDelivery.status ==
                                                   DeliveryStatus.PENDING)
    for run in db.session.scalars(select(Run).where(
            Run.kind == KIND, Run.subject_type == SUBJECT, Run.subject_id.in_(delivery_ids),
            Run.status.in_((RunStatus.PENDING, RunStatus.RUNNING)))).all():
        runs.cancel(run)
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
                       .execution_options(synchronize_session=False))
    url, endpoint_id = endpoint.url, endpoint.id
    db.session.delete(endpoint)
    db.session.flush()
    activity.record(actor, "webhook.deleted", f"deleted the webhook to {targets.origin(url)}",
                    subject=("webhook_endpoint", endpoint_id))


def send_test(endpoint: WebhookEndpoint, *, actor: Actor) -> WebhookDelivery:
    """Queue a ``webhook.test`` delivery to the endpoint (whatever events it subscribes to)."""
    if not endpoint.enabled:
        raise WebhookError("Re-enable the endpoint before sending it a test event.")
    return queue_delivery(endpoint, TEST_EVENT,
                          {"message": "A test event from PitchFast.", "endpoint_id": endpoint.id},
                          created_by_id=actor.user_id)
