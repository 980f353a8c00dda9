"""Writing leads: add, edit, move status, bulk actions, import a file.

Every function takes the :class:`~app.activity.Actor` who acts, flushes, records the
activity and never commits: the route, command or job that called it commits (audit
runs reach the worker after that commit).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update

from app import activity
from app.activity import Actor
from app.audits.operations import allowed_targets, request_audits
from app.extensions import db
from app.leads import dnc, importer, search_index
from app.leads.csvfile import CsvFile
from app.leads.normalize import InvalidValue, clean_text, normalize_email, normalize_website
from app.models import Campaign, Lead, LeadStatus, transition
from app.models.base import utcnow
from app.models.states import InvalidTransition, can_transition, refuse_manual_status

log = logging.getLogger(__name__)
TEXT_FIELDS = {
    "business_name": 300,
    "contact_name": 200,
    "phone": 64,
    "city": 120,
    "address": 500,
    "source": 120,
}
#: One bulk audit creates at most this many runs (narrow the filter for more).
MAX_AUDIT_BATCH = 5000
_CHUNK = 500


class LeadError(ValueError):
    """A lead cannot be saved as given: ``field`` names the form field, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class BulkError(ValueError):
    """A bulk action that cannot run as asked."""


@dataclass
class BulkResult:
    """What a bulk action did, in words a person can read."""

    done: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    batch_id: int | None = None
    run_ids: list[int] = field(default_factory=list)

    def message(self, verb: str) -> str:
        text = f"{verb} {self.done} lead{'s' if self.done != 1 else ''}."
        if self.skipped:
            text += (
                " Not changed: " + "; ".join(f"{n} {why}" for why, n in self.skipped.items()) + "."
            )
        return text


# -- one lead ---------------------------------------------------------------------------


def create_lead(campaign: Campaign, data: dict[str, Any], *, actor: Actor) -> Lead:
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
    _record_lead(actor, "lead.create", f"added lead {lead.business_name}", lead)
    return lead


def update_lead(lead: Lead, data: dict[str, Any], *, actor: Actor) -> Lead:
    """Edit a lead's details (same checks as :func:`create_lead`)."""
    values = _clean(lead.campaign_id, data, lead.id)
    for key, value in values.items():
        setattr(lead, key, value)
    db.session.flush()
    _record_lead(actor, "lead.edit", f"edited lead {lead.business_name}", lead)
    return lead


def set_lead_status(
    lead: Lead, status: LeadStatus, reason: str | None = None, *, actor: Actor
) -> None:
    """A person moves a lead through the state machine (InvalidTransition when not
    allowed, or when the status is one only audits set)."""
    refuse_manual_status(status)
    old = lead.status
    transition(lead, status)
    lead.status_reason = (reason or "")[:500] or None
    db.session.flush()
    summary = f"moved lead {lead.business_name} from {getattr(old, 'value', old)} to {status.value}"
    _record_lead(actor, "lead.status", summary, lead)


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


def _record_lead(actor: Actor, verb: str, summary: str, lead: Lead) -> None:
    activity.record(actor, verb, summary, subject=("lead", lead.id), campaign_id=lead.campaign_id)


# -- many leads of a campaign (a selection, or everything matching a filter) -------------


def audit_leads(campaign: Campaign, ids: list[int], *, actor: Actor) -> BulkResult:
    """Queue an audit run for each lead (in one batch) through
    :func:`app.audits.operations.request_audits`, which validates every address before a
    run exists and hands the runs to the worker once the caller commits."""
    if len(ids) > MAX_AUDIT_BATCH:
        raise BulkError(
            f"At most {MAX_AUDIT_BATCH:,} leads can be audited at once "
            f"({len(ids):,} chosen). Narrow the filter and try again."
        )
    request = request_audits(_leads(campaign, ids), actor, campaign_id=campaign.id)
    result = BulkResult(skipped=request.reasons)
    result.run_ids = [run.id for run in request.runs]
    result.done = len(result.run_ids)
    result.batch_id = request.batch.id if request.batch else None
    return result  # request_audits recorded the activity


def set_leads_status(
    campaign: Campaign, ids: list[int], status: LeadStatus, *, actor: Actor
) -> BulkResult:
    """Move leads to ``status`` where the state machine allows it; count the refusals by origin."""
    try:
        refuse_manual_status(status)
    except InvalidTransition as exc:
        raise BulkError(str(exc)) from None
    result = BulkResult()
    # The same table transition() checks, applied set-wise so 100,000 leads move in a
    # few statements instead of loading every row.
    allowed = [s for s in LeadStatus if s != status and can_transition(s, status)]
    for chunk in _chunks(ids):
        scope = (Lead.campaign_id == campaign.id, Lead.id.in_(chunk))
        for old, n in db.session.execute(
            select(Lead.status, func.count())
            .where(*scope, Lead.status.not_in(allowed))
            .group_by(Lead.status)
        ):
            why = (
                f"already {old.value}"
                if old == status
                else f"cannot move from {old.value} to {status.value}"
            )
            result.skipped[why] += n
        result.done += _rowcount(
            update(Lead)
            .where(*scope, Lead.status.in_(allowed))
            .values(status=status, updated_at=utcnow())
        )
    summary = f"moved {result.done} leads to {status.value} in {campaign.name}"
    _record_campaign(actor, "leads.status", summary, campaign)
    return result


def blacklist_leads(campaign: Campaign, ids: list[int], *, actor: Actor) -> BulkResult:
    """Add the leads' domains and emails to do-not-contact and mark the leads blacklisted."""
    result = BulkResult()
    for chunk in _chunks(ids):
        scope = (Lead.campaign_id == campaign.id, Lead.id.in_(chunk))
        pairs = db.session.execute(select(Lead.domain, Lead.email).where(*scope)).all()
        dnc.add(((d, e) for d, e in pairs), actor.user_id)
        result.done += _rowcount(
            update(Lead)
            .where(*scope)
            .values(
                status=LeadStatus.BLACKLISTED,
                updated_at=utcnow(),
                status_reason="added to do-not-contact",
            )
        )
    summary = f"added {result.done} leads of {campaign.name} to do-not-contact"
    _record_campaign(actor, "leads.blacklist", summary, campaign)
    return result


def delete_leads(campaign: Campaign, ids: list[int], *, actor: Actor) -> BulkResult:
    """Delete leads (their audits and outreach go with them)."""
    result = BulkResult()
    for chunk in _chunks(ids):
        result.done += _rowcount(
            delete(Lead).where(Lead.campaign_id == campaign.id, Lead.id.in_(chunk))
        )
    _record_campaign(
        actor, "leads.delete", f"deleted {result.done} leads from {campaign.name}", campaign
    )
    return result


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _leads(campaign: Campaign, ids: list[int]) -> list[Lead]:
    out: list[Lead] = []
    for chunk in _chunks(ids):
        stmt = select(Lead).where(Lead.campaign_id == campaign.id, Lead.id.in_(chunk))
        out += db.session.scalars(stmt.order_by(Lead.id)).all()
    return out


def _rowcount(stmt: Any) -> int:
    """Run a set-wise UPDATE or DELETE (no session synchronisation); rows affected."""
    result = db.session.execute(stmt.execution_options(synchronize_session=False))
    return cast(CursorResult[Any], result).rowcount


def _record_campaign(actor: Actor, verb: str, summary: str, campaign: Campaign) -> None:
    activity.record(
        actor, verb, summary, subject=("campaign", campaign.id), campaign_id=campaign.id
    )


# -- import ------------------------------------------------------------------------------


def import_leads(
    campaign: Campaign,
    csvfile: CsvFile,
    mapping: dict[str, int | None],
    filename: str = "",
    *,
    actor: Actor,
) -> importer.ImportReport:
    """Classify a file's rows and insert the good ones inside the caller's transaction:
    the caller commits, or rolls back on any error so nothing of the file is kept."""
    if mapping.get("website_url") is None:
        raise InvalidValue("Choose which column holds the website: it is needed to audit a lead.")
    report = importer.classify(campaign, csvfile, mapping, filename)
    search_index.bulk_insert(report.rows)
    report.committed = True
    log.info(
        "imported %s leads (%s duplicates, %s refused, %s bad)",
        report.imported, len(report.duplicates), len(report.refused), len(report.bad),
    )
    summary = (
        f"imported {report.imported} leads into {campaign.name} from {filename or 'a CSV file'}"
    )
    _record_campaign(actor, "leads.import", summary, campaign)
    return report
