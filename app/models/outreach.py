"""Outreach messages and the do-not-contact list."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model, enum_column, utcnow
from app.models.states import BlacklistKind, BlacklistReason, OutreachStatus


class Outreach(Model):
    __tablename__ = "outreach"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"))
    audit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("audits.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[OutreachStatus] = mapped_column(
        enum_column(OutreachStatus), default=OutreachStatus.DRAFT
    )
    approved_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    approved_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    unsubscribe_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        sa.Index("ix_outreach_lead_id_id", "lead_id", "id"),
        sa.Index("ix_outreach_status_id", "status", "id"),
    )


class BlacklistEntry(Model):
    __tablename__ = "blacklist_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[BlacklistKind] = mapped_column(enum_column(BlacklistKind))
    value: Mapped[str] = mapped_column(sa.String(254))
    reason: Mapped[BlacklistReason] = mapped_column(
        enum_column(BlacklistReason), default=BlacklistReason.MANUAL
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (sa.UniqueConstraint("kind", "value", name="uq_blacklist_kind_value"),)
