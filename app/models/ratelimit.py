"""Rate-limit events: one row per counted event, keyed by what is limited."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model, utcnow


class RateEvent(Model):
    """A counted event (a failed sign-in, a public-page view, an API call) under ``key``.

    Keys look like ``login:account:<email>`` or ``login:address:<ip>``; limits live in the
    database so every web process and machine sees the same counts.
    """

    __tablename__ = "rate_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(300))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (sa.Index("ix_rate_events_key_at", "key", "at"),)
