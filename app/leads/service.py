"""Leads one at a time: add, edit, move status, and what the lead page shows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app import activity
from app.audits.service import allowed_targets
from app.extensions import db
from app.leads import dnc
from app.leads.normalize import InvalidValue, clean_text, normalize_email, normalize_website
from app.models import Activity, Audit, Campaign, Lead, LeadStatus, Outreach, User, transition
from app.models.states import AUDIT_ONLY_STATUSES, LEAD_TRANSITIONS, refuse_manual_status

TEXT_FIELDS = {
    "business_name": 300,
    "contact_name": 200,
    "phone": 64,
    "city": 120,
    "address": 500,
    "source": 120,
}


class LeadError(ValueError):
    """A lead cannot be saved as given: ``field`` names the form field, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _clean(campaign_id: int, data: dict[str, Any], lead_id: int | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, max_len in TEXT_FIELDS.items():
        if key in data:
            try:
                values[key] = clean_text(data[key], max_len, key.replace("_", " "))
            except InvalidValue as exc:
                raise LeadError(key, str(exc)) from None
    if "notes" in data:
        values["notes"] = (data["notes"] or "").strip()
    try:
        if "website_url" in data:
            values["website_url"], values["domain"] = normalize_website(
                data["website_url"], allowed_targets()
            )
        if "email" in data:
            values["email"] = normalize_email(data["email"])
    except InvalidValue as exc:
        raise LeadError(
            "email" if str(exc).startswith("email") else "website_url", str(exc)
        ) from None
    if "website_url" in values and not values["website_url"]:
        raise LeadError("website_url", "A lead needs a website.")
    if "business_name" in values and not values["business_name"]:
        values["business_name"] = values.get("domain")
        if not values["business_name"]:
            raise LeadError("business_name", "A lead needs a business name.")
    _check_unique(campaign_id, values, lead_id)
    return values


def _check_unique(campaign_id: int, values: dict[str, Any], lead_id: int | None) -> None:
    for key, label in (("domain", "website"), ("email", "email")):
        if not values.get(key):
            continue
        stmt = select(Lead.id).where(
            Lead.campaign_id == campaign_id, getattr(Lead, key) == values[key]
        )
        if lead_id:
            stmt = stmt.where(Lead.id != lead_id)
        if db.session.scalar(stmt.limit(1)):
            field = "website_url" if key == "domain" else "email"
            raise LeadError(
                field, f"A lead with this {label} ({values[key]}) is already in the campaign."
            )


def create_lead(campaign: Campaign, data: dict[str, Any], user_id: int | None = None) -> Lead:
    """Add one lead; refuses duplicates and do-not-contact entries with :class:`LeadError`."""
    values = _clean(campaign.id, data)
    reason = dnc.check(values.get("domain"), values.get("email"))
    if reason:
        raise LeadError(
            "email" if values.get("email") and values["email"] in reason else "website_url",
            f"Refused: {reason}.",
        )
    lead = Lead(
        campaign_id=campaign.id,
        status=LeadStatus.NEW,
        source=values.pop("source", None) or "manual",
        **values,
    )
    db.session.add(lead)
    db.session.flush()
    activity.record(
        "lead.create",
        f"added lead {lead.business_name}",
        user_id=user_id,
        subject_type="lead",
        subject_id=lead.id,
        campaign_id=campaign.id,
    )
    return lead


def update_lead(lead: Lead, data: dict[str, Any], user_id: int | None = None) -> Lead:
    """Edit a lead's details (same checks as :func:`create_lead`)."""
    values = _clean(lead.campaign_id, data, lead.id)
    for key, value in values.items():
        setattr(lead, key, value)
    db.session.flush()
    activity.record(
        "lead.edit",
        f"edited lead {lead.business_name}",
        user_id=user_id,
        subject_type="lead",
        subject_id=lead.id,
        campaign_id=lead.campaign_id,
    )
    return lead


def set_status(
    lead: Lead, status: LeadStatus, user_id: int | None = None, reason: str | None = None
) -> None:
    """A person moves a lead through the state machine (InvalidTransition when not
    allowed, or when the status is one only audits set)."""
    refuse_manual_status(status)
    old = lead.status
    transition(lead, status)
    lead.status_reason = (reason or "")[:500] or None
    db.session.flush()
    activity.record(
        "lead.status",
        f"moved lead {lead.business_name} from {getattr(old, 'value', old)} to {status.value}",
        user_id=user_id,
        subject_type="lead",
        subject_id=lead.id,
        campaign_id=lead.campaign_id,
    )


def next_statuses(lead: Lead) -> list[LeadStatus]:
    """Statuses a person may move this lead to (its current one left out)."""
    current = LeadStatus(lead.status)
    allowed = LEAD_TRANSITIONS.get(current, set()) - {current} - AUDIT_ONLY_STATUSES
    return sorted(allowed, key=list(LeadStatus).index)


def lead_page(lead: Lead, limit: int = 50) -> dict[str, Any]:
    """Audit history (oldest first, for the score chart), outreach and activity of a lead."""
    audits = db.session.scalars(
        select(Audit).where(Audit.lead_id == lead.id).order_by(Audit.id.desc()).limit(limit)
    ).all()[::-1]
    outreach = db.session.scalars(
        select(Outreach)
        .where(Outreach.lead_id == lead.id)
        .order_by(Outreach.id.desc())
        .limit(limit)
    ).all()
    feed = db.session.execute(
        select(Activity, User.email)
        .outerjoin(User, User.id == Activity.user_id)
        .where(Activity.subject_type == "lead", Activity.subject_id == lead.id)
        .order_by(Activity.id.desc())
        .limit(limit)
    ).all()
    points = [(a.created_at, a.score) for a in audits if a.score is not None]
    return {
        "audits": audits,
        "outreach": outreach,
        "feed": feed,
        "score_points": points,
        "dnc": dnc.check(lead.domain, lead.email),
    }
