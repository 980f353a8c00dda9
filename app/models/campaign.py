"""Campaigns: a named list of leads with its sender identity and templates."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model, enum_column, utcnow
from app.models.states import CampaignStatus


class Campaign(Model):
    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    niche: Mapped[str] = mapped_column(sa.String(120), default="")
    status: Mapped[CampaignStatus] = mapped_column(
        enum_column(CampaignStatus), default=CampaignStatus.DRAFT
    )
    sender_name: Mapped[str] = mapped_column(sa.String(120), default="")
    sender_email: Mapped[str] = mapped_column(sa.String(254), default="")
    email_subject_template: Mapped[str] = mapped_column(sa.Text, default="")
    email_body_template: Mapped[str] = mapped_column(sa.Text, default="")
    # Days after the first email that a follow-up is drafted; None: no follow-up.
    follow_up_days: Mapped[int | None]
    # --- sending pace (issue 12 part B, migration 0014; app/outreach/pacing.py) ---
    # Caps per local day (None: no cap), minimum seconds between two sends, the sending
    # window in minutes after local midnight (None: any time) in ``timezone`` (IANA).
    daily_cap: Mapped[int | None]
    domain_daily_cap: Mapped[int | None]
    min_spacing_seconds: Mapped[int] = mapped_column(default=0, server_default="0")
    send_window_start: Mapped[int | None]
    send_window_end: Mapped[int | None]
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC", server_default="UTC")
    # Sending paused by itself after repeated SMTP failures (None: sending), and why.
    paused_at: Mapped[datetime | None]
    paused_reason: Mapped[str | None] = mapped_column(sa.String(500))
    smtp_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    # --- end sending pace ---
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = (sa.Index("ix_campaigns_status_id", "status", "id"),)
