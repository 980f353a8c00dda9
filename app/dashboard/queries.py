"""Dashboard figures: counts by status, what needs attention, and the activity feed.

Every query is bounded: GROUP BY over indexed status columns, and a feed page of at
most ``FEED_PAGE`` rows keyed on the activity id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Activity,
    Audit,
    AuditStatus,
    Campaign,
    CampaignStatus,
    Lead,
    LeadStatus,
    Run,
    RunStatus,
    User,
)
from app.models.base import utcnow
from app.runs import queries as runs_queries

FEED_PAGE = 20


@dataclass
class Segment:
    """One status in a stacked bar: its count and its slice of the bar (0–100)."""

    status: str
    count: int
    x: float
    width: float


@dataclass
class Tally:
    """Counts of one table by status, in the order the statuses flow."""

    label: str
    total: int
    segments: list[Segment] = field(default_factory=list)

    def count(self, *statuses: str) -> int:
        """The sum of the given statuses."""
        return sum(s.count for s in self.segments if s.status in statuses)


def counts_by(column: Any) -> dict[str, int]:
    """``{status: count}`` for one status column (one GROUP BY query)."""
    rows = db.session.execute(select(column, func.count()).group_by(column)).all()
    return {str(getattr(k, "value", k)): n for k, n in rows}


def tally(label: str, column: Any, order: list[str],
          counts: dict[str, int] | None = None) -> Tally:
    """Counts by status (``counts``, or one GROUP BY over ``column``) as a :class:`Tally`
    whose segments tile 0–100."""
    counts = counts_by(column) if counts is None else counts
    total = sum(counts.values())
    segments, x = [], 0.0
    for status in order + sorted(set(counts) - set(order)):
        n = counts.get(status, 0)
        if n:
            width = 100.0 * n / total
            segments.append(Segment(status, n, round(x, 3), round(width, 3)))
            x += width
    return Tally(label, total, segments)


def summary() -> dict[str, Tally]:
    """Counts of leads, audits, runs and campaigns by status."""
    return {
        "leads": tally("Leads", Lead.status, [s.value for s in LeadStatus]),
        "audits": tally("Audits", Audit.status, [s.value for s in AuditStatus]),
        # The runs people follow, by the Runs page's chips (dead ones count as failed),
        # so each number here is the length of the list its link opens.
        "runs": tally("Runs", Run.status, list(runs_queries.CHIPS),
                      runs_queries.status_counts()),
        "campaigns": tally("Campaigns", Campaign.status, [s.value for s in CampaignStatus]),
    }


def attention(hours: int = 24) -> dict[str, int]:
    """Things a person should look at: runs that failed for good in the last ``hours``
    (the Runs page lists the same ones with ``status=failed&since=hours``) and runs
    waiting too long (the worker may be down)."""
    stuck = db.session.scalar(
        select(func.count(Run.id)).where(
            Run.status == RunStatus.PENDING, Run.created_at < utcnow() - timedelta(minutes=15)
        )
    )
    return {"failed_runs": runs_queries.failed_recently(hours), "waiting_runs": stuck or 0,
            "hours": hours}


def feed(limit: int = FEED_PAGE, before_id: int | None = None) -> list[tuple[Activity, str | None]]:
    """Latest activity rows with who acted (one query), newest first: a user's name or
    email, an API key's label, or None for the app itself."""
    stmt = (
        select(Activity, func.coalesce(func.nullif(User.name, ""), User.email))
        .outerjoin(User, User.id == Activity.user_id)
        .order_by(Activity.id.desc())
        .limit(limit)
    )
    if before_id:
        stmt = stmt.where(Activity.id < before_id)
    # A prospect opening a public page (issue 10) is named as such, not as the app.
    return [(a, who or (a.actor_label if a.actor_kind == "api_key" or (
        a.actor_kind == "system" and a.verb.startswith("public.")) else None))
            for a, who in db.session.execute(stmt).all()]
