"""API keys: machine access to the JSON API (``/api/v1``), one key per client."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model, enum_column, utcnow


class KeyScope(enum.Enum):
    READ = "read"
    WRITE = "write"


class ApiKey(Model):
    """A key an admin made for one client (n8n, a scraper, a CRM).

    The key itself (``pf_`` + 43 random URL-safe characters, 256 bits) is shown once; only
    its SHA-256 is stored, with its first characters (``prefix``) so people can tell keys
    apart. A key works until it is revoked or expires. ``window_start``/``window_count``
    hold the per-key rate limit (a fixed window), updated by the same statement that looks
    the key up, so every web process shares one count.
    """

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    scope: Mapped[KeyScope] = mapped_column(enum_column(KeyScope, length=10))
    prefix: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    window_start: Mapped[datetime | None]
    window_count: Mapped[int] = mapped_column(default=0)
    __table_args__ = (sa.Index("ix_api_keys_revoked_at_id", "revoked_at", "id"),)
