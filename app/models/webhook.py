"""Webhooks: endpoints an admin registers, and one delivery row per event sent to one.

The signing secret of an endpoint is never stored: it is derived from the instance's
``SECRET_KEY`` and the endpoint's random ``secret_salt`` (:mod:`app.webhooks.signing`), so
a copy of the database alone cannot sign or verify anything. Rotating the secret draws a
new salt.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model, enum_column, utcnow


class DeliveryStatus(enum.Enum):
    PENDING = "pending"  # queued or being retried
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # gave up: a permanent refusal, or retries spent
    SKIPPED = "skipped"  # the endpoint was disabled before it could be sent


class WebhookEndpoint(Model):
    """A URL that receives signed POSTs for the events it subscribes to."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2048))
    description: Mapped[str | None] = mapped_column(sa.String(120))
    events: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    secret_salt: Mapped[str] = mapped_column(sa.String(64))
    secret_rotated_at: Mapped[datetime] = mapped_column(default=utcnow)
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(500))
    #: Deliveries that failed for good in a row (any success resets it).
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    last_delivery_at: Mapped[datetime | None]
    last_delivery_status: Mapped[str | None] = mapped_column(sa.String(20))
    last_status_code: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def subscribes(self, event: str) -> bool:
        """True when this endpoint wants ``event``."""
        return event in (self.events or [])


class WebhookDelivery(Model):
    """One event for one endpoint: the body sent (every retry sends the same), the run that
    sends it, and what the endpoint answered last."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    #: The idempotency id receivers see (``X-PitchFast-Delivery`` and the body's ``id``).
    public_id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    event: Mapped[str] = mapped_column(sa.String(40))
    #: ``"audit.finished → hooks.example.com"``: the subject's name on the Runs page.
    label: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    run_id: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(default=0)
    status_code: Mapped[int | None]
    error_code: Mapped[str | None] = mapped_column(sa.String(40))
    error: Mapped[str | None] = mapped_column(sa.String(500))
    response_excerpt: Mapped[str | None] = mapped_column(sa.String(500))
    duration_ms: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    __table_args__ = (sa.Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),)
