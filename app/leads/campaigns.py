"""Campaigns: create, edit, change status, and the figures of the campaign page."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import case, func, select

from app import activity
from app.extensions import db
from app.models import (
    Campaign,
    CampaignStatus,
    Lead,
    LeadStatus,
    Outreach,
    Run,
    RunBatch,
    RunStatus,
    transition,
)

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
EDITABLE = (
    "name",
    "niche",
    "sender_name",
    "sender_email",
    "email_subject_template",
    "email_body_template",
)


class CampaignError(ValueError):
    """A campaign cannot be created or changed as asked; the message says why."""


def slugify(text: str) -> str:
    """ASCII, lower-case, hyphenated slug of ``text`` (at most 80 characters)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].strip("-") or "campaign"


def slug_taken(slug: str, exclude_id: int | None = None) -> bool:
    """True when another campaign already uses ``slug``."""
    stmt = select(Campaign.id).where(Campaign.slug == slug)
    if exclude_id:
        stmt = stmt.where(Campaign.id != exclude_id)
    return db.session.scalar(stmt) is not None


def create_campaign(
    name: str, slug: str | None = None, *, created_by_id: int | None = None, **fields: Any
) -> Campaign:
    """Add a draft campaign. Without ``slug`` one is derived from the name (made unique)."""
    name = (name or "").strip()
    if not name:
        raise CampaignError("A campaign needs a name.")
    if slug:
        slug = slug.strip().lower()
        if not SLUG_RE.match(slug) or len(slug) > 80:
            raise CampaignError("The slug may only contain a-z, 0-9 and single hyphens (max 80).")
        if slug_taken(slug):
            raise CampaignError(f"The slug {slug!r} is already used by another campaign.")
    else:
        base = slug = slugify(name)
        n = 2
        while slug_taken(slug):
            slug, n = f"{base[:74]}-{n}", n + 1
    campaign = Campaign(
        name=name[:200], slug=slug, status=CampaignStatus.DRAFT, created_by_id=created_by_id
    )
    for key in EDITABLE[1:]:
        setattr(campaign, key, (fields.get(key) or "").strip())
    db.session.add(campaign)
    db.session.flush()
    activity.record(
        "campaign.create",
        f"created campaign {campaign.name}",
        user_id=created_by_id,
        subject_type="campaign",
        subject_id=campaign.id,
        campaign_id=campaign.id,
    )
    return campaign


def update_campaign(campaign: Campaign, user_id: int | None = None, **fields: Any) -> Campaign:
    """Change a campaign's editable fields."""
    for key in EDITABLE:
        if key in fields and fields[key] is not None:
            setattr(campaign, key, str(fields[key]).strip())
    db.session.flush()
    activity.record(
        "campaign.edit",
        f"edited campaign {campaign.name}",
        user_id=user_id,
        subject_type="campaign",
        subject_id=campaign.id,
        campaign_id=campaign.id,
    )
    return campaign


def set_status(campaign: Campaign, status: CampaignStatus, user_id: int | None = None) -> None:
    """Move a campaign through its state machine (InvalidTransition when not allowed)."""
    transition(campaign, status)
    db.session.flush()
    activity.record(
        f"campaign.{status.value}",
        f"set campaign {campaign.name} to {status.value}",
        user_id=user_id,
        subject_type="campaign",
        subject_id=campaign.id,
        campaign_id=campaign.id,
    )


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


def stats(campaign: Campaign) -> dict[str, Any]:
    """Counts by lead status, score histogram (10 buckets), audit and outreach progress."""
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
    outreach = {
        str(getattr(s, "value", s)): n
        for s, n in db.session.execute(
            select(Outreach.status, func.count())
            .join(Lead, Lead.id == Outreach.lead_id)
            .where(Lead.campaign_id == campaign.id)
            .group_by(Outreach.status)
        )
    }
    audited = sum(
        by_status.get(s.value, 0)
        for s in LeadStatus
        if s
        not in (
            LeadStatus.NEW,
            LeadStatus.QUEUED,
            LeadStatus.AUDIT_FAILED,
            LeadStatus.UNSUBSCRIBED,
            LeadStatus.BLACKLISTED,
            LeadStatus.LOST,
        )
    )
    contacted = sum(by_status.get(s, 0) for s in ("contacted", "replied", "won"))
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
        "outreach": {
            "by_status": outreach,
            "sent": outreach.get("sent", 0),
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
