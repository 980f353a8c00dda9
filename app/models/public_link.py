"""Public links: the page a prospect opens (issue 10), one per lead.

A link belongs to the lead, not to one audit: it shows the lead's latest *published*
audit (``audit_id``), rendered only from that audit's frozen snapshot plus the data
frozen at publish time (``frozen``: the business name and the peer comparison). The
token is never stored: it is derived from the secret key, the link's id and its
``version`` (:func:`app.public.queries.token_for`); only its SHA-256 is kept. Rotating or
re-publishing a revoked link bumps the version, so every earlier token stays dead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model, utcnow


class PublicLink(Model):
    __tablename__ = "public_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(
        sa.ForeignKey("leads.id", ondelete="CASCADE"), unique=True
    )
    audit_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("audits.id", ondelete="SET NULL")
    )
    version: Mapped[int] = mapped_column(default=1)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    published_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    view_count: Mapped[int] = mapped_column(default=0)
    first_viewed_at: Mapped[datetime | None]
    last_viewed_at: Mapped[datetime | None]
    #: Frozen at publish: business name, peer comparison, the published audit's id.
    frozen: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: The stored PDF of the current version (made once per version by a run).
    pdf_key: Mapped[str | None] = mapped_column(sa.String(300))
    pdf_version: Mapped[int | None]


class PublicView(Model):
    """One counted view: a visitor key (an HMAC of address and browser, never the raw
    address) per link, so a visitor counts once per half hour. Pruned by upkeep."""

    __tablename__ = "public_views"
    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(sa.ForeignKey("public_links.id", ondelete="CASCADE"))
    visitor: Mapped[str] = mapped_column(sa.String(64))
    viewed_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        sa.Index("ix_public_views_link_visitor_at", "link_id", "visitor", "viewed_at"),
        sa.Index("ix_public_views_viewed_at", "viewed_at"),
    )
