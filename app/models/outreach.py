"""Outreach messages and the do-not-contact list."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model, enum_column, utcnow
from app.models.states import BlacklistKind, BlacklistReason, OutreachStatus


class TemplateVariant(enum.StrEnum):
    """Which leads a template is for: audited sites, or sites found down (no grade)."""

    STANDARD = "standard"
    SITE_DOWN = "site_down"


class OutreachTemplate(Model):
    """Subject and body (sandboxed Jinja) for one step and variant of a campaign's emails."""

    __tablename__ = "outreach_templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    # 1: the first email; 2: the follow-up (sent campaign.follow_up_days after the first).
    step: Mapped[int] = mapped_column(default=1)
    variant: Mapped[TemplateVariant] = mapped_column(
        enum_column(TemplateVariant), default=TemplateVariant.STANDARD
    )
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    updated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "step", "variant",
                            name="uq_outreach_templates_campaign_step_variant"),
    )


class Outreach(Model):
    __tablename__ = "outreach"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"))
    audit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("audits.id", ondelete="SET NULL"))
    template_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("outreach_templates.id", ondelete="SET NULL")
    )
    # 1: the first email; 2: a follow-up of ``follows_id``.
    step: Mapped[int] = mapped_column(default=1, server_default="1")
    follows_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("outreach.id", ondelete="SET NULL")
    )
    # The From identity fixed at approval (the campaign's, else the agency's).
    sender_name: Mapped[str | None] = mapped_column(sa.String(120))
    sender_email: Mapped[str | None] = mapped_column(sa.String(254))
    # SHA-256 of what was approved (recipient, sender, subject, body, cited audit); an
    # edit after approval changes it and voids the approval.
    approved_fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    replied_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow)
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
    # --- delivery (issue 12 part B, migration 0014; app/outreach/delivery.py) ---
    # The slot the dispatcher gave the message (counted by the campaign's caps and
    # spacing; cleared when it goes back to approved), its recipient's domain, when and
    # by which attempt it went to ``sending``, the exact bytes handed to the SMTP server
    # and the server's answer.
    slot_at: Mapped[datetime | None] = mapped_column(index=True)
    recipient_domain: Mapped[str | None] = mapped_column(sa.String(253))
    sending_at: Mapped[datetime | None]
    send_token: Mapped[str | None] = mapped_column(sa.String(64))
    sent_raw: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    smtp_response: Mapped[str | None] = mapped_column(sa.String(500))
    # --- end delivery ---
    __table_args__ = (
        sa.Index("ix_outreach_lead_id_id", "lead_id", "id"),
        sa.Index("ix_outreach_status_id", "status", "id"),
        sa.Index("ix_outreach_follows_id", "follows_id"),
        sa.Index("ix_outreach_recipient_status", "recipient", "status"),
    )


class OutreachEvent(Model):
    """One status change of an outreach message: its history, oldest first."""

    __tablename__ = "outreach_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    outreach_id: Mapped[int] = mapped_column(sa.ForeignKey("outreach.id", ondelete="CASCADE"))
    from_status: Mapped[OutreachStatus | None] = mapped_column(enum_column(OutreachStatus))
    to_status: Mapped[OutreachStatus] = mapped_column(enum_column(OutreachStatus))
    actor_kind: Mapped[str] = mapped_column(sa.String(20))
    actor_id: Mapped[int | None]
    actor_label: Mapped[str] = mapped_column(sa.String(120))
    note: Mapped[str] = mapped_column(sa.String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (sa.Index("ix_outreach_events_outreach_id_id", "outreach_id", "id"),)


class BlacklistEntry(Model):
    __tablename__ = "blacklist_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[BlacklistKind] = mapped_column(enum_column(BlacklistKind))
    value: Mapped[str] = mapped_column(sa.String(254))
    reason: Mapped[BlacklistReason] = mapped_column(
        enum_column(BlacklistReason), default=BlacklistReason.MANUAL
    )
    # Why, in the words of whoever added it (a manual entry, a CSV import's source).
    note: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (sa.UniqueConstraint("kind", "value", name="uq_blacklist_kind_value"),)
