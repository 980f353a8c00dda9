"""Reading API keys: the admin list and one key or 404."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiKey


def get_key_or_404(key_id: int) -> ApiKey:
    """One key (the keys page is admin-only; the access hook checks that) or 404."""
    row: ApiKey = db.get_or_404(ApiKey, key_id)
    return row


#: Keys per page of the admin list and of ``pitchfast keys list``.
PER_PAGE = 200


def list_keys(include_revoked: bool = True, limit: int = PER_PAGE,
              offset: int = 0) -> list[ApiKey]:
    """Open keys first, then revoked ones, newest first within each; ``limit`` of them
    from ``offset`` (pages: :func:`count_keys` says how many there are in all)."""
    stmt = select(ApiKey)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    stmt = (stmt.order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())
            .limit(limit).offset(offset))
    return list(db.session.scalars(stmt))


def count_keys() -> int:
    """How many keys there are, revoked ones included."""
    return int(db.session.scalar(select(func.count(ApiKey.id))) or 0)
