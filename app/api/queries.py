"""Read models of the JSON API (v1): campaigns, leads, runs and audits as JSON-ready dicts.

Each list is one statement (rows and whatever each row needs), so a page of the API costs
at most two statements besides the key's own. Leads are listed by
:func:`app.leads.queries.page`, the statement the leads page uses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import Audit, Campaign, CampaignStatus, Lead, Run

#: Most rows in one page of any list.
MAX_LIMIT = 100
#: Rows in a page when the client does not say.
DEFAULT_LIMIT = 50


def iso(value: datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO 8601 with ``Z``."""
    return value.isoformat(timespec="seconds") + "Z" if value else None


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


# -- campaigns ---------------------------------------------------------------------------


def campaign_json(campaign: Campaign, leads: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": campaign.id,
        "slug": campaign.slug,
        "name": campaign.name,
        "status": _value(campaign.status),
        "niche": campaign.niche or "",
        "created_at": iso(campaign.created_at),
    }
    if leads is not None:
        out["leads"] = leads
    return out


def campaigns_page(before: int | None, limit: int,
                   include_archived: bool = False) -> tuple[list[dict[str, Any]], int | None]:
    """Campaigns newest first, ``limit`` after the id ``before``, each with its number of
    leads (a correlated count on ``ix_leads_campaign_id_id``): one statement. Returns the
    rows and the id to continue before (None on the last page)."""
    count = (select(func.count(Lead.id)).where(Lead.campaign_id == Campaign.id)
             .correlate(Campaign).scalar_subquery())
    stmt = select(Campaign, count.label("n"))
    if not include_archived:
        stmt = stmt.where(Campaign.status != CampaignStatus.ARCHIVED)
    if before is not None:
        stmt = stmt.where(Campaign.id < before)
    rows = list(db.session.execute(stmt.order_by(Campaign.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    out = [campaign_json(c, int(n)) for c, n in rows]
    return out, (rows[-1][0].id if more and rows else None)


# -- leads -------------------------------------------------------------------------------

#: Fields of a lead row of a list (the columns :func:`app.leads.queries.page` reads).
ROW_FIELDS = ("id", "business_name", "website_url", "domain", "email", "contact_name", "city",
              "status", "score", "site_down", "latest_audit_id")


def lead_row_json(row: Any) -> dict[str, Any]:
    """One row of :func:`app.leads.queries.page` as JSON."""
    out = {name: _value(getattr(row, name)) for name in ROW_FIELDS}
    out["website"] = out.pop("website_url")
    out["audited_at"] = iso(row.audited_at)
    out["created_at"] = iso(row.created_at)
    return out


def lead_with_latest_audit(lead_id: int) -> tuple[Lead, Audit | None, str] | None:
    """The lead, its latest audit and its campaign's slug, in one statement; None when
    no such lead. The latest audit is ``Lead.latest_audit_id``, the one the list rows
    (``latest_audit_id``) and the pages show: the newest *finished* audit, not a queued or
    running one made after it."""
    row = db.session.execute(
        select(Lead, Audit, Campaign.slug)
        .join(Campaign, Campaign.id == Lead.campaign_id)
        .outerjoin(Audit, Audit.id == Lead.latest_audit_id)
        .where(Lead.id == lead_id)
    ).one_or_none()
    return (row[0], row[1], row[2]) if row else None


def audit_summary(audit: Audit | None) -> dict[str, Any] | None:
    if audit is None:
        return None
    return {
        "id": audit.id,
        "status": _value(audit.status),
        "score": audit.score,
        "opportunity": audit.opportunity,
        "scores": audit.scores or {},
        "error": audit.error_message,
        "created_at": iso(audit.created_at),
        "finished_at": iso(audit.finished_at),
    }


def lead_json(lead: Lead, campaign_slug: str, latest: Audit | None) -> dict[str, Any]:
    return {
        "id": lead.id,
        "campaign": campaign_slug,
        "business_name": lead.business_name,
        "website": lead.website_url,
        "domain": lead.domain,
        "email": lead.email,
        "phone": lead.phone,
        "contact_name": lead.contact_name,
        "city": lead.city,
        "address": lead.address,
        "notes": lead.notes or "",
        "status": _value(lead.status),
        "status_reason": lead.status_reason,
        "score": lead.score,
        "opportunity": lead.opportunity,
        "site_down": bool(lead.site_down),
        "audited_at": iso(lead.audited_at),
        "created_at": iso(lead.created_at),
        "updated_at": iso(lead.updated_at),
        "latest_audit": audit_summary(latest),
    }


def duplicate_lead_id(campaign_id: int, domain: str | None, email: str | None) -> int | None:
    """The lead of the campaign that already has this domain (or else this email)."""
    for column, value in ((Lead.domain, domain), (Lead.email, email)):
        if value:
            found = db.session.scalar(select(Lead.id).where(
                Lead.campaign_id == campaign_id, column == value).limit(1))
            if found is not None:
                return int(found)
    return None


# -- runs and audits ---------------------------------------------------------------------


def run_json(run: Run) -> dict[str, Any]:
    """``{id, kind, status, attempts, error, subject: {type, id}, audit_id?}``."""
    out: dict[str, Any] = {
        "id": run.id,
        "kind": run.kind,
        "status": _value(run.status),
        "attempts": run.attempt,
        "max_attempts": run.max_attempts,
        "error": run.error,
        "subject": ({"type": run.subject_type, "id": run.subject_id}
                    if run.subject_type else None),
        "created_at": iso(run.created_at),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
    }
    if run.kind == "audit":
        out["audit_id"] = db.session.scalar(select(Audit.id).where(Audit.run_id == run.id))
    return out


def audit_document(audit: Audit, file_url: Any) -> dict[str, Any]:
    """The audit's result document, as ``pitchfast audit --json`` prints it (the frozen
    document saved with the audit), each screenshot with a ``url`` from ``file_url(key)``;
    under ``audit`` the row's id, lead, status and times. An audit without a document yet
    (running, or failed before one) has only ``audit`` and ``status``."""
    document: dict[str, Any] = dict(audit.snapshot or {})
    shots = []
    for shot in document.get("screenshots") or []:
        if isinstance(shot, dict):
            shot = dict(shot)
            if shot.get("key"):
                shot["url"] = file_url(str(shot["key"]))
            shots.append(shot)
    if shots:
        document["screenshots"] = shots
    document.setdefault("status", _value(audit.status))
    document["audit"] = {
        "id": audit.id,
        "lead_id": audit.lead_id,
        "status": _value(audit.status),
        "error": audit.error_message,
        "created_at": iso(audit.created_at),
        "finished_at": iso(audit.finished_at),
    }
    return document


def is_audit_file(key: str) -> bool:
    """Only audit screenshots are served to keys (``audits/<id>/…``), not logos or
    uploads."""
    return key.startswith("audits/")
