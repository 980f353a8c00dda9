"""Activity feed, settings metadata and stored-file metadata."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model, utcnow


class Activity(Model):
    __tablename__ = "activity"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: Who acted: "user", "api_key" or "system"; ``actor_label`` keeps the name shown.
    actor_kind: Mapped[str] = mapped_column(sa.String(20), default="user", server_default="user")
    actor_id: Mapped[int | None]
    actor_label: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    verb: Mapped[str] = mapped_column(sa.String(60))
    subject_type: Mapped[str | None] = mapped_column(sa.String(40))
    subject_id: Mapped[int | None]
    campaign_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE")
    )
    summary: Mapped[str] = mapped_column(sa.String(500), default="")
    __table_args__ = (
        sa.Index("ix_activity_subject", "subject_type", "subject_id", "id"),
        sa.Index("ix_activity_campaign_id_id", "campaign_id", "id"),
    )


class Setting(Model):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )


class StoredFile(Model):
    __tablename__ = "stored_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(400), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    checksum: Mapped[str] = mapped_column(sa.String(64))
    owner_type: Mapped[str | None] = mapped_column(sa.String(40))
    owner_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (sa.Index("ix_stored_files_owner", "owner_type", "owner_id"),)
