"""Runs: the source of truth for every background job, with their log lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model, enum_column, utcnow
from app.models.states import RunStatus

#: The partial-index condition of ``ux_runs_one_active_per_subject``.
ACTIVE_SUBJECT = sa.text("status IN ('pending', 'running') AND subject_id IS NOT NULL")


class RunBatch(Model):
    """A group of runs created by one bulk action, for a progress bar."""

    __tablename__ = "run_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    campaign_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE")
    )
    total: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (sa.Index("ix_run_batches_campaign_id_id", "campaign_id", "id"),)


class Run(Model):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    subject_type: Mapped[str | None] = mapped_column(sa.String(40))
    subject_id: Mapped[int | None]
    batch_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("run_batches.id", ondelete="SET NULL")
    )
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus), default=RunStatus.PENDING)
    attempt: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    lease_token: Mapped[str | None] = mapped_column(sa.String(64))
    lease_expires_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    worker_id: Mapped[str | None] = mapped_column(sa.String(120))
    not_before: Mapped[datetime | None]
    enqueued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    duration_ms: Mapped[int | None]
    error_code: Mapped[str | None] = mapped_column(sa.String(40))
    error: Mapped[str | None] = mapped_column(sa.String(2000))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        sa.Index("ix_runs_status_id", "status", "id"),
        sa.Index("ix_runs_kind_status_id", "kind", "status", "id"),
        sa.Index("ix_runs_status_lease", "status", "lease_expires_at"),
        sa.Index("ix_runs_subject", "subject_type", "subject_id", "id"),
        sa.Index("ix_runs_batch_status", "batch_id", "status"),
        # At most one pending or running run of a kind per subject (one audit per lead at
        # a time), enforced by the database so two racing requests cannot both queue one.
        sa.Index(
            "ux_runs_one_active_per_subject",
            "kind",
            "subject_type",
            "subject_id",
            unique=True,
            sqlite_where=ACTIVE_SUBJECT,
            postgresql_where=ACTIVE_SUBJECT,
        ),
    )


class RunLog(Model):
    __tablename__ = "run_logs"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(default=0)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    level: Mapped[str] = mapped_column(sa.String(10), default="info")
    message: Mapped[str] = mapped_column(sa.String(2000))
    duration_ms: Mapped[int | None]
    __table_args__ = (sa.Index("ix_run_logs_run_id_id", "run_id", "id"),)
