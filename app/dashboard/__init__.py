"""Dashboard figures: counts by status and the activity feed (bounded queries)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import Activity, Audit, Lead, Run, User


def counts_by(column: Any) -> dict[str, int]:
    """``{status: count}`` for one status column (one GROUP BY query)."""
    rows = db.session.execute(select(column, func.count()).group_by(column)).all()
    return {str(getattr(k, "value", k)): n for k, n in rows}


def summary() -> dict[str, dict[str, int]]:
    """Counts of leads, audits and runs by status."""
    return {
        "leads": counts_by(Lead.status),
        "audits": counts_by(Audit.status),
        "runs": counts_by(Run.status),
    }


def feed(limit: int = 20, before_id: int | None = None) -> list[tuple[Activity, str | None]]:
    """Latest activity rows with the actor's email (one query)."""
    stmt = (
        select(Activity, User.email)
        .outerjoin(User, User.id == Activity.user_id)
        .order_by(Activity.id.desc())
        .limit(limit)
    )
    if before_id:
        stmt = stmt.where(Activity.id < before_id)
    return [(a, email) for a, email in db.session.execute(stmt).all()]
