"""Writing leads: add, edit, move status, delete, bulk actions, import a file.

Every function takes the :class:`~app.activity.Actor` who acts, flushes, records the
activity and never commits: the route, command or job that called it commits (audit
runs reach the worker after that commit; deleted leads' files go after it).

Who may move a lead where is decided in one place, :func:`app.models.states.check_manual_move`:
the sales stages are free, audit and outreach statuses are the app's, and only an admin
takes a lead off do-not-contact. Only an admin deletes leads (:class:`NotAllowed`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, func, or_, select, update

from app import activity, storage
from app.activity import Actor
from app.audits.operations import allowed_targets, request_audits
from app.extensions import db
from app.leads import dnc, importer, search_index
from app.leads.csvfile import MAX_CELL, MAX_COLUMNS, CsvFile
from app.leads.normalize import InvalidValue, clean_text, normalize_email, normalize_website
from app.models import Audit, Campaign, Lead, LeadStatus, StoredFile, transition
from app.models.base import utcnow
from app.models.states import (
    DO_NOT_CONTACT,
    SALES_STAGES,
    AdminOnlyTransition,
    InvalidTransition,
    can_transition,
    check_manual_move,
    refuse_manual_status,
)
from app.untrusted import clean_text as untrusted_text
from app.users.queries import acts_as_admin

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


class NotAllowed(PermissionError):
    """The actor's role may not do this; the message says who may."""


def _require_admin(actor: Actor, message: str) -> None:
    if not acts_as_admin(actor):
        raise NotAllowed(message)


@dataclass
class BulkResult:
    """What a bulk action did, in words a person can read."""

    done: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    batch_id: int | None = None
    run_ids: list[int] = field(default_factory=list)
    #: The whole sentence, when the action wrote its own (status moves do).
    summary: str | None = None

    def message(self, verb: str) -> str:
        if self.summary:
            return self.summary
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
    """A person moves a lead (the rules: :func:`~app.models.states.check_manual_move`).

    Raises InvalidTransition for a status only audits or outreach set, or one the lead is
    already in, and :class:`~app.models.states.AdminOnlyTransition` when a member tries to
    take a lead off do-not-contact. Moving a lead to blacklisted puts its domain and email
    on the do-not-contact list (as the bulk action does); an admin moving it off takes
    them off the list.
    """
    old = LeadStatus(lead.status)
    if status == old:
        raise InvalidTransition(f"This lead is already {_label(old)}.")
    check_manual_move(old, status, admin=old in DO_NOT_CONTACT and acts_as_admin(actor))
    transition(lead, status)
    lead.status_reason = (reason or "")[:500] or None
    summary = f"moved lead {lead.business_name} from {_label(old)} to {_label(status)}"
    if status == LeadStatus.BLACKLISTED:
        dnc.add([(lead.domain, lead.email)], actor.user_id)
    if old in DO_NOT_CONTACT and status not in DO_NOT_CONTACT:
        dnc.remove(lead.domain, lead.email)
        summary += " (off the do-not-contact list)"
    db.session.flush()
    _record_lead(actor, "lead.status", summary, lead)


def release_lead(lead: Lead, *, actor: Actor) -> LeadStatus:
    """An admin takes a lead off do-not-contact: its domain and email leave the list and
    it goes back to what its audits say (audited, or new if never audited). Returns the
    new status; AdminOnlyTransition for anyone else, InvalidTransition when the lead is
    not do-not-contact."""
    old = LeadStatus(lead.status)
    if old not in DO_NOT_CONTACT:
        raise InvalidTransition(f"This lead is {_label(old)}, not on the do-not-contact list.")
    if not acts_as_admin(actor):
        raise AdminOnlyTransition(
            f"This lead is {old.value} (do not contact): only an admin can take it off "
            "the do-not-contact list."
        )
    target = LeadStatus.AUDITED if lead.latest_audit_id else LeadStatus.NEW
    transition(lead, target)
    lead.status_reason = None
    dnc.remove(lead.domain, lead.email)
    db.session.flush()
    _record_lead(
        actor,
        "lead.release",
        f"took lead {lead.business_name} off the do-not-contact list (now {_label(target)})",
        lead,
    )
    return target


def delete_lead(lead: Lead, *, actor: Actor) -> None:
    """Delete one lead with its audits, outreach and stored files (admins only: files go
    once the caller commits)."""
    _require_admin(actor, "Only an admin can delete leads.")
    name, campaign_id = lead.business_name, lead.campaign_id
    _delete_files([lead.id])
    _rowcount(delete(Lead).where(Lead.id == lead.id))
    activity.record(
        actor, "lead.delete", f"deleted lead {name}", subject=("campaign", campaign_id),
        campaign_id=campaign_id,
    )


def _label(status: LeadStatus) -> str:
    return status.value.replace("_", " ")


def _n_leads(n: int) -> str:
    return f"{n:,} lead{'s' if n != 1 else ''}"


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
    if "extra" in data:
        values["extra"] = clean_extra(data["extra"])
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


def clean_extra(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """A lead's extra fields (columns kept from an imported file) from ``(name, value)``
    pairs as people edited them: a pair without a name or a value is dropped (that is how a
    field is removed), names lose control characters and repeated spaces, values their
    control characters but not their line breaks. Bounded like an imported row (at most
    ``MAX_COLUMNS`` fields of ``MAX_CELL`` characters); two fields may not share a name."""
    out: dict[str, str] = {}
    for raw_name, raw_value in pairs:
        name = untrusted_text(raw_name or "").strip()
        value = untrusted_text(raw_value or "", keep_newlines=True).strip()
        if not name or not value:
            continue
        if len(name) > MAX_CELL or len(value) > MAX_CELL:
            raise LeadError("extra_fields", f"A field name or value is longer than {MAX_CELL:,} "
                                            "characters.")
        if name in out:
            raise LeadError("extra_fields", f"Two fields are named {name!r}: rename one.")
        out[name] = value
    if len(out) > MAX_COLUMNS:
        raise LeadError("extra_fields", f"A lead may have at most {MAX_COLUMNS} more fields.")
    return out


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
    """Move leads to a sales stage, from any status except do-not-contact (a bulk move
    never takes leads off that list); the summary says what moved and why the rest did not.
    Records activity only when a lead moved."""
    try:
        refuse_manual_status(status)
    except InvalidTransition as exc:
        raise BulkError(str(exc)) from None
    if status not in SALES_STAGES:
        raise BulkError(
            "Bulk moves go to a sales stage (" + ", ".join(s.value for s in SALES_STAGES)
            + "). To stop contacting leads, use “Add to do-not-contact”."
        )
    result = BulkResult()
    # The same table transition() checks, applied set-wise so 100,000 leads move in a
    # few statements instead of loading every row.
    movable = [
        s for s in LeadStatus
        if s != status and s not in DO_NOT_CONTACT and can_transition(s, status)
    ]
    for chunk in _chunks(ids):
        scope = (Lead.campaign_id == campaign.id, Lead.id.in_(chunk))
        for old, n in db.session.execute(
            select(Lead.status, func.count())
            .where(*scope, Lead.status.not_in(movable))
            .group_by(Lead.status)
        ):
            result.skipped[LeadStatus(old).value] += n
        result.done += _rowcount(
            update(Lead)
            .where(*scope, Lead.status.in_(movable))
            .values(status=status, status_reason=None, updated_at=utcnow())
        )
    result.summary = _moved_summary(result, status)
    if result.done:
        summary = f"moved {_n_leads(result.done)} to {_label(status)} in {campaign.name}"
        _record_campaign(actor, "leads.status", summary, campaign)
    return result


def _moved_summary(result: BulkResult, status: LeadStatus) -> str:
    """E.g. "Moved 3 leads to contacted; 2 were already there; 1 is on the do-not-contact
    list." (or "No lead moved to contacted: 2 were already there.")."""
    label = _label(status)
    n = result.done
    head = f"Moved {_n_leads(n)} to {label}" if n else f"No lead moved to {label}"
    already = result.skipped.get(status.value, 0)
    dnc_count = sum(result.skipped.get(s.value, 0) for s in DO_NOT_CONTACT)
    notes = []
    if already:
        notes.append(f"{already} {'was' if already == 1 else 'were'} already there")
    if dnc_count:
        notes.append(
            f"{dnc_count} {'is' if dnc_count == 1 else 'are'} on the do-not-contact list"
        )
    for old, count in sorted(result.skipped.items()):
        if old != status.value and LeadStatus(old) not in DO_NOT_CONTACT:
            notes.append(f"{count} cannot move from {old.replace('_', ' ')} to {label}")
    if not notes:
        return head + "."
    return head + ("; " if n else ": ") + "; ".join(notes) + "."


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
    if result.done:
        summary = f"added {_n_leads(result.done)} of {campaign.name} to do-not-contact"
        _record_campaign(actor, "leads.blacklist", summary, campaign)
    return result


def delete_leads(campaign: Campaign, ids: list[int], *, actor: Actor) -> BulkResult:
    """Delete leads with their audits, outreach and stored files (admins only: files go
    once the caller commits)."""
    _require_admin(actor, "Only an admin can delete leads.")
    result = BulkResult()
    for chunk in _chunks(ids):
        scope = (Lead.campaign_id == campaign.id, Lead.id.in_(chunk))
        _delete_files(list(db.session.scalars(select(Lead.id).where(*scope))))
        result.done += _rowcount(delete(Lead).where(*scope))
    if result.done:
        _record_campaign(
            actor, "leads.delete",
            f"deleted {_n_leads(result.done)} from {campaign.name}",
            campaign,
        )
    return result


def _delete_files(lead_ids: list[int]) -> None:
    """Queue the removal of every stored file of these leads and their audits
    (screenshots, annotated crops): metadata rows now, files after the commit."""
    if not lead_ids:
        return
    audits = db.session.execute(
        select(Audit.id, Audit.screenshots).where(Audit.lead_id.in_(lead_ids))
    ).all()
    audit_ids = [a.id for a in audits]
    keys = set(
        db.session.scalars(
            select(StoredFile.key).where(
                or_(
                    and_(StoredFile.owner_type == "audit", StoredFile.owner_id.in_(audit_ids)),
                    and_(StoredFile.owner_type == "lead", StoredFile.owner_id.in_(lead_ids)),
                )
            )
        )
    )
    for audit in audits:  # keys the audit points at, even without a metadata row
        for meta in (audit.screenshots or {}).values():
            if isinstance(meta, dict) and isinstance(meta.get("key"), str):
                keys.add(meta["key"])
    for key in sorted(keys):
        try:
            storage.delete_on_commit(key)
        except storage.StorageError:
            log.warning("not deleting stored file with an invalid key %r", key)


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
