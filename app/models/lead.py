"""Leads: one business and its website inside a campaign."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Model, enum_column, utcnow
from app.models.states import LeadStatus


class Lead(Model):
    __tablename__ = "leads"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    business_name: Mapped[str] = mapped_column(sa.String(300))
    website_url: Mapped[str | None] = mapped_column(sa.String(2048))
    domain: Mapped[str | None] = mapped_column(sa.String(253))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    contact_name: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(64))
    city: Mapped[str | None] = mapped_column(sa.String(120))
    address: Mapped[str | None] = mapped_column(sa.String(500))
    source: Mapped[str | None] = mapped_column(sa.String(120))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    extra: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[LeadStatus] = mapped_column(enum_column(LeadStatus), default=LeadStatus.NEW)
    status_reason: Mapped[str | None] = mapped_column(sa.String(500))
    score: Mapped[int | None]
    opportunity: Mapped[int | None]
    # The latest finished audit found the site down for every visitor (no score then).
    site_down: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # A denormalised pointer without a DB foreign key (leads and audits would
    # reference each other); app.audits.operations keeps it in step.
    latest_audit_id: Mapped[int | None]
    audited_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    campaign = relationship("Campaign", lazy="raise_on_sql")
    latest_audit = relationship(
        "Audit",
        primaryjoin="foreign(Lead.latest_audit_id) == Audit.id",
        lazy="raise_on_sql",
        viewonly=True,
    )

    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "domain", name="uq_leads_campaign_domain"),
        sa.Index("ix_leads_campaign_id_id", "campaign_id", "id"),
        sa.Index("ix_leads_campaign_status_id", "campaign_id", "status", "id"),
        sa.Index("ix_leads_campaign_score_id", "campaign_id", "score", "id"),
        sa.Index("ix_leads_campaign_site_down_id", "campaign_id", "site_down", "id"),
        sa.Index("ix_leads_campaign_city_id", "campaign_id", "city", "id"),
        sa.Index("ix_leads_campaign_email", "campaign_id", "email"),
        sa.Index("ix_leads_campaign_name_id", "campaign_id", "business_name", "id"),
        sa.Index("ix_leads_domain", "domain"),
        sa.Index("ix_leads_email", "email"),
    )
