"""Campaigns read for pages and commands: the loader, the listing, the page's figures."""

from __future__ import annotations

from dataclasses import dataclass
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
from app.models.states import SALES_STAGES

#: Where each lead is in the audit pipeline, whatever its sales stage: queued, failed,
#: audited (a finished audit with a result), or not yet.
_AUDIT_PHASE = case(
    (Lead.status == LeadStatus.QUEUED, "queued"),
    (Lead.status == LeadStatus.AUDIT_FAILED, "failed"),
    (Lead.audited_at.is_not(None), "audited"),
    else_="none",
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
    """The newest ``limit`` campaigns with their lead counts."""
    return campaign_page(include_archived=include_archived, per_page=limit).rows


#: Campaigns per page of the list.
PER_PAGE = 100


@dataclass
class CampaignPage:
    """One page of campaigns, newest first, keyed on id (no OFFSET)."""

    rows: list[tuple[Campaign, int]]  #: each campaign with its number of leads
    total: int
    start: int  #: the 1-based position of the first row (0 when the page is empty)
    older: int | None = None  #: pass as ``before`` for the next (older) page
    newer: int | None = None  #: pass as ``after`` for the previous (newer) page

    @property
    def end(self) -> int:
        return self.start + len(self.rows) - 1 if self.rows else 0


def campaign_page(*, include_archived: bool = False, before: int | None = None,
                  after: int | None = None, per_page: int = PER_PAGE) -> CampaignPage:
    """Campaigns newest first, ``per_page`` at a time before (or after) an id, with their
    lead counts (counted for this page's campaigns only) and where the page sits."""
    shown = [] if include_archived else [Campaign.status != CampaignStatus.ARCHIVED]
    stmt = select(Campaign).where(*shown)
    if after is not None:
        found = list(db.session.scalars(
            stmt.where(Campaign.id > after).order_by(Campaign.id.asc()).limit(per_page + 1)))
        has_newer, has_older = len(found) > per_page, True
        found = found[:per_page][::-1]
    else:
        if before is not None:
            stmt = stmt.where(Campaign.id < before)
        found = list(db.session.scalars(stmt.order_by(Campaign.id.desc()).limit(per_page + 1)))
        has_newer, has_older = before is not None, len(found) > per_page
        found = found[:per_page]
    counts: dict[int, int] = {}
    if found:
        counts = {cid: n for cid, n in db.session.execute(
            select(Lead.campaign_id, func.count()).where(
                Lead.campaign_id.in_([c.id for c in found])).group_by(Lead.campaign_id))}
    total = int(db.session.scalar(select(func.count(Campaign.id)).where(*shown)) or 0)
    ahead = int(db.session.scalar(select(func.count(Campaign.id)).where(
        *shown, Campaign.id > found[0].id)) or 0) if found else 0
    return CampaignPage(
        rows=[(c, counts.get(c.id, 0)) for c in found],
        total=total,
        start=ahead + 1 if found else 0,
        older=found[-1].id if found and has_older else None,
        newer=found[0].id if found and has_newer else None,
    )


#: Sales stages a lead reaches after it was contacted.
_SALES = tuple(s.value for s in SALES_STAGES)


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
    phases: dict[str, int] = {
        str(phase): n
        for phase, n in db.session.execute(
            select(_AUDIT_PHASE, func.count())
            .where(Lead.campaign_id == campaign.id)
            .group_by(_AUDIT_PHASE)
        )
    }
    contacted = sum(by_status.get(s, 0) for s in _SALES if s != "lost")
    return {
        "total": total,
        "by_status": by_status,
        "histogram": hist,
        "audit": {
            "audited": phases.get("audited", 0),
            "queued": phases.get("queued", 0),
            "failed": phases.get("failed", 0),
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
