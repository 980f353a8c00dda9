"""Campaigns read for pages and commands: the loader, the listing, the page's figures."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select

from app.extensions import db
from app.models import (
    Campaign,
    CampaignStatus,
    Lead,
    LeadStatus,
    Run,
    RunBatch,
    RunStatus,
)

#: Lead statuses that mean "not audited (yet)" on the campaign page's progress figures.
_NOT_AUDITED = (
    LeadStatus.NEW,
    LeadStatus.QUEUED,
    LeadStatus.AUDIT_FAILED,
    LeadStatus.UNSUBSCRIBED,
    LeadStatus.BLACKLISTED,
    LeadStatus.LOST,
)


def get_campaign_or_404(slug: str) -> Campaign:
    """Load a campaign by slug (every member may see every campaign) or 404."""
    campaign: Campaign = db.first_or_404(select(Campaign).where(Campaign.slug == slug))
    return campaign


def find_campaign(slug: str) -> Campaign | None:
    """The campaign with this slug, or None."""
    return db.session.scalar(select(Campaign).where(Campaign.slug == slug))


def slug_taken(slug: str, exclude_id: int | None = None) -> bool:
    """True when another campaign already uses ``slug``."""
    stmt = select(Campaign.id).where(Campaign.slug == slug)
    if exclude_id:
        stmt = stmt.where(Campaign.id != exclude_id)
    return db.session.scalar(stmt) is not None


def list_campaigns(include_archived: bool = False, limit: int = 100) -> list[tuple[Campaign, int]]:
    """Campaigns (newest first) with their lead counts, in one query."""
    counts = select(Lead.campaign_id, func.count().label("n")).group_by(Lead.campaign_id).subquery()
    stmt = (
        select(Campaign, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.campaign_id == Campaign.id)
        .order_by(Campaign.id.desc())
        .limit(limit)
    )
    if not include_archived:
        stmt = stmt.where(Campaign.status != CampaignStatus.ARCHIVED)
    return [(c, n) for c, n in db.session.execute(stmt).all()]


#: Sales stages a lead reaches after it was contacted.
_SALES = ("contacted", "replied", "won", "lost")


def stats(campaign: Campaign) -> dict[str, Any]:
    """Counts by lead status, score histogram (10 buckets), audit and sales-pipeline progress."""
    by_status = {
        str(getattr(s, "value", s)): n
        for s, n in db.session.execute(
            select(Lead.status, func.count())
            .where(Lead.campaign_id == campaign.id)
            .group_by(Lead.status)
        )
    }
    total = sum(by_status.values())
    bucket = case((Lead.score >= 100, 9), else_=Lead.score // 10)
    hist = [0] * 10
    for b, n in db.session.execute(
        select(bucket, func.count())
        .where(Lead.campaign_id == campaign.id, Lead.score.is_not(None))
        .group_by(bucket)
    ):
        hist[max(0, min(9, int(b)))] += n
    audited = sum(by_status.get(s.value, 0) for s in LeadStatus if s not in _NOT_AUDITED)
    contacted = sum(by_status.get(s, 0) for s in _SALES if s != "lost")
    return {
        "total": total,
        "by_status": by_status,
        "histogram": hist,
        "audit": {
            "audited": audited,
            "queued": by_status.get("queued", 0),
            "failed": by_status.get("audit_failed", 0),
            "total": total,
        },
        "pipeline": {
            "by_status": {s: by_status[s] for s in _SALES if by_status.get(s)},
            "contacted": contacted,
            "total": total,
        },
    }


def batch_progress(campaign_id: int, limit: int = 3) -> list[dict[str, Any]]:
    """The latest bulk batches of a campaign with done / failed / remaining (two queries)."""
    batches = db.session.scalars(
        select(RunBatch)
        .where(RunBatch.campaign_id == campaign_id)
        .order_by(RunBatch.id.desc())
        .limit(limit)
    ).all()
    if not batches:
        return []
    counts: dict[int, dict[str, int]] = {b.id: {} for b in batches}
    for batch_id, status, n in db.session.execute(
        select(Run.batch_id, Run.status, func.count())
        .where(Run.batch_id.in_(list(counts)))
        .group_by(Run.batch_id, Run.status)
    ):
        counts[batch_id][str(getattr(status, "value", status))] = n
    out = []
    for b in batches:
        c = counts[b.id]
        done = c.get(RunStatus.SUCCEEDED.value, 0)
        failed = sum(c.get(s, 0) for s in ("failed", "dead", "canceled"))
        running = c.get(RunStatus.RUNNING.value, 0)
        total = max(b.total, sum(c.values()))
        remaining = max(total - done - failed, 0)
        out.append(
            {
                "batch": b,
                "total": total,
                "done": done,
                "failed": failed,
                "running": running,
                "remaining": remaining,
                "complete": remaining == 0,
                "pct_done": _pct(done, total),
                "pct_failed": _pct(failed, total),
                "pct_running": _pct(running, total),
            }
        )
    return out


def _pct(n: int, total: int) -> float:
    return round(100 * n / total, 1) if total else 0
