"""Record who did what, for the live activity feed."""

from __future__ import annotations

from app.extensions import db
from app.models import Activity


def record(
    verb: str,
    summary: str,
    *,
    user_id: int | None = None,
    subject_type: str | None = None,
    subject_id: int | None = None,
    campaign_id: int | None = None,
) -> Activity:
    """Add an activity row to the session (flushed by the caller's commit)."""
    row = Activity(
        verb=verb,
        summary=summary[:500],
        user_id=user_id,
        subject_type=subject_type,
        subject_id=subject_id,
        campaign_id=campaign_id,
    )
    db.session.add(row)
    return row
