"""Bulk actions on a selection of leads or on everything matching a filter."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, update

from app import activity
from app.extensions import db
from app.leads import dnc
from app.models import Campaign, Lead, LeadStatus
from app.models.base import utcnow
from app.models.states import InvalidTransition, can_transition, refuse_manual_status

#: One bulk audit creates at most this many runs (narrow the filter for more).
MAX_AUDIT_BATCH = 5000
_CHUNK = 500


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


def _leads(campaign: Campaign, ids: list[int]) -> list[Lead]:
    out: list[Lead] = []
    for start in range(0, len(ids), _CHUNK):
        out += db.session.scalars(
            select(Lead)
            .where(Lead.campaign_id == campaign.id, Lead.id.in_(ids[start : start + _CHUNK]))
            .order_by(Lead.id)
        ).all()
    return out


def audit(campaign: Campaign, ids: list[int], user_id: int | None) -> BulkResult:
    """Queue an audit run for each lead (in one batch) through
    :func:`app.audits.service.request_audits`, which validates every address before a
    run exists; the caller commits, then submits."""
    if len(ids) > MAX_AUDIT_BATCH:
        raise BulkError(
            f"At most {MAX_AUDIT_BATCH:,} leads can be audited at once "
            f"({len(ids):,} chosen). Narrow the filter and try again."
        )
    from app.audits.service import request_audits

    request = request_audits(_leads(campaign, ids), user_id, campaign_id=campaign.id)
    result = BulkResult(skipped=request.reasons)
    result.run_ids = [run.id for run in request.runs]
    result.done = len(result.run_ids)
    result.batch_id = request.batch.id if request.batch else None
    return result  # request_audits recorded the activity


def set_status(
    campaign: Campaign, ids: list[int], status: LeadStatus, user_id: int | None
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
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        scope = (Lead.campaign_id == campaign.id, Lead.id.in_(chunk))
        for old, n in db.session.execute(
            select(Lead.status, func.count())
            .where(*scope, Lead.status.not_in(allowed))
            .group_by(Lead.status)
        ):
            same = old == status
            why = (
                f"already {old.value}"
                if same
                else f"cannot move from {old.value} to {status.value}"
            )
            result.skipped[why] += n
        stmt = (
            update(Lead)
            .where(*scope, Lead.status.in_(allowed))
            .values(status=status, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        result.done += db.session.execute(stmt).rowcount
    activity.record(
        "leads.status",
        f"moved {result.done} leads to {status.value} in {campaign.name}",
        user_id=user_id,
        subject_type="campaign",
        subject_id=campaign.id,
        campaign_id=campaign.id,
    )
    return result


def blacklist(campaign: Campaign, ids: list[int], user_id: int | None) -> BulkResult:
    """Add the leads' domains and emails to do-not-contact and mark the leads blacklisted."""
    result = BulkResult()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        scope = (Lead.campaign_id == campaign.id, Lead.id.in_(chunk))
        pairs = db.session.execute(select(Lead.domain, Lead.email).where(*scope)).all()
        dnc.add(((d, e) for d, e in pairs), user_id)
        stmt = (
            update(Lead)
            .where(*scope)
            .values(
                status=LeadStatus.BLACKLISTED,
                updated_at=utcnow(),
                status_reason="added to do-not-contact",
            )
            .execution_options(synchronize_session=False)
        )
        result.done += db.session.execute(stmt).rowcount
    activity.record(
        "leads.blacklist",
        f"added {result.done} leads of {campaign.name} to do-not-contact",
        user_id=user_id,
        subject_type="campaign",
        subject_id=campaign.id,
        campaign_id=campaign.id,
    )
    return result


def delete_leads(campaign: Campaign, ids: list[int], user_id: int | None) -> BulkResult:
    """Delete leads (their audits and outreach go with them)."""
    result = BulkResult()
    for start in range(0, len(ids), _CHUNK):
        stmt = (
            delete(Lead)
            .where(Lead.campaign_id == campaign.id, Lead.id.in_(ids[start : start + _CHUNK]))
            .execution_options(synchronize_session=False)
        )
        result.done += db.session.execute(stmt).rowcount
    activity.record(
        "leads.delete",
        f"deleted {result.done} leads from {campaign.name}",
        user_id=user_id,
        subject_type="campaign",
        subject_id=campaign.id,
        campaign_id=campaign.id,
    )
    return result
