"""One-time account links: an invite for a new user, or a password reset for an existing
one (:mod:`app.users.links`)."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model, enum_column, utcnow


class LinkKind(enum.Enum):
    INVITE = "invite"
    RESET = "reset"


class AccountLink(Model):
    """A link an admin hands to one person to set their password once.

    The URL carries a random token (256 bits); only its SHA-256 is stored. A link is open
    until it is used, it expires, or it is revoked (a newer link for the same user, a
    password set some other way, deactivation); used, expired, revoked and unknown links
    all look the same to the person opening them.
    """

    __tablename__ = "account_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[LinkKind] = mapped_column(enum_column(LinkKind))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    __table_args__ = (sa.Index("ix_account_links_user_id_used_at", "user_id", "used_at"),)
