"""Audits of a lead's website and their findings (one row per check)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model, enum_column, utcnow
from app.models.states import AuditStatus


class Audit(Model):
    __tablename__ = "audits"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("runs.id", ondelete="SET NULL"), unique=True
    )
    status: Mapped[AuditStatus] = mapped_column(
        enum_column(AuditStatus), default=AuditStatus.RUNNING
    )
    url: Mapped[str] = mapped_column(sa.String(2048))
    final_url: Mapped[str | None] = mapped_column(sa.String(2048))
    http_status: Mapped[int | None]
    error_code: Mapped[str | None] = mapped_column(sa.String(40))
    error_message: Mapped[str | None] = mapped_column(sa.String(1000))
    rubric_version: Mapped[str | None] = mapped_column(sa.String(20))
    score: Mapped[int | None]
    opportunity: Mapped[int | None]
    scores: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    timings: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    contacts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    screenshots: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    snapshot: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    public_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    published_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    view_count: Mapped[int] = mapped_column(default=0)
    last_viewed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    __table_args__ = (sa.Index("ix_audits_lead_id_id", "lead_id", "id"),)


class Finding(Model):
    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(sa.ForeignKey("audits.id", ondelete="CASCADE"))
    check_id: Mapped[str] = mapped_column(sa.String(80))
    category: Mapped[str] = mapped_column(sa.String(40))
    outcome: Mapped[str] = mapped_column(sa.String(20))
    severity: Mapped[str] = mapped_column(sa.String(20))
    passed: Mapped[bool | None]
    title: Mapped[str] = mapped_column(sa.String(300))
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    evidence: Mapped[Any] = mapped_column(sa.JSON, default=dict)
    __table_args__ = (
        sa.UniqueConstraint("audit_id", "check_id", name="uq_findings_audit_check"),
        sa.Index("ix_findings_check_outcome", "check_id", "outcome"),
    )
