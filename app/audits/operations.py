"""Requesting audits: validate the lead's website, queue the lead, create the run.

Operations take the :class:`~app.activity.Actor` who acts, flush but never commit, record
their activity, and hand their runs to the worker once the caller commits
(:func:`app.jobs.runs.submit_after_commit`)::

    request_audit(lead, actor, *, batch_id=None, allow_targets=None) -> Run
    request_audits(leads, actor, *, campaign_id=None, batch_id=None,
                   allow_targets=None) -> BulkRequest   # .runs, .refused, .batch

(``allow_targets`` defaults to the app's ``AUDIT_ALLOW_TARGETS``.) A lead is refused when
it has no website, its URL is unsafe or malformed (scheme, userinfo, port, private or
loopback address — no DNS here; the engine's proxy checks resolved addresses), an audit
of it is already pending/running, or its status cannot go back to ``queued``.

Both validate the lead's website with ``netguard.normalize_url`` *before* any run row
exists; a refused lead is left untouched (:class:`AuditRequestError` for one lead; for
bulk, ``refused`` lists ``(lead, reason)``). ``request_audits`` creates a ``RunBatch``
(kind "audit") for a progress bar unless ``batch_id`` names an existing one.

Saving results lives in :mod:`app.audits.results` (called by the "audit" run handler in
:mod:`app.audits.jobs`); reading for pages in :mod:`app.audits.queries`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from app import activity
from app.activity import Actor
from app.audits.engine.netguard import TargetError, normalize_url
from app.extensions import db
from app.jobs import runs
from app.models import Lead, LeadStatus, Run, RunBatch
from app.models.states import can_transition

log = logging.getLogger(__name__)
KIND = "audit"
ACTIVE = runs.ACTIVE


SHORT_REASONS = {
    "already_queued": "already queued",
    "no_website": "without a website",
    "invalid_status": "in a status that cannot be audited again",
}


class AuditRequestError(ValueError):
    """An audit that cannot be requested; ``message`` is written for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class BulkRequest:
    """The outcome of :func:`request_audits`."""

    runs: list[Run] = field(default_factory=list)
    refused: list[tuple[Lead, str]] = field(default_factory=list)
    #: Refusals counted by a short reason, for one summary line.
    reasons: Counter[str] = field(default_factory=Counter)
    batch: RunBatch | None = None


def allowed_targets(allow_targets: Iterable[str] | None = None) -> frozenset[str]:
    """The ``host:port`` allowlist: as given, or from ``AUDIT_ALLOW_TARGETS``."""
    if allow_targets is None:
        allow_targets = current_app.config.get("AUDIT_ALLOW_TARGETS") or ()
    return frozenset(allow_targets)


def lock_leads(lead_ids: Sequence[int]) -> None:
    """Re-read these leads with a row lock (PostgreSQL; SQLite's write transaction
    already serialises), so a second request for the same lead waits for the first to
    commit and then sees it queued, instead of queuing a duplicate."""
    lead_ids = sorted(set(lead_ids))  # one lock order for every request: no deadlocks
    for start in range(0, len(lead_ids), 500):
        chunk = list(lead_ids[start : start + 500])
        db.session.execute(
            select(Lead)
            .where(Lead.id.in_(chunk))
            .order_by(Lead.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()


def active_run_ids(lead_ids: Sequence[int]) -> dict[int, int]:
    """``{lead_id: run_id}`` for leads with a pending or running audit run."""
    return runs.active_runs(KIND, "lead", lead_ids)


def check_request(lead: Lead, targets: frozenset[str], busy: bool) -> str:
    """The normalized URL to audit, or :class:`AuditRequestError` saying why not."""
    if busy:
        raise AuditRequestError("already_queued", "An audit of this lead is already queued.")
    if not (lead.website_url or "").strip():
        raise AuditRequestError("no_website", "This lead has no website to audit.")
    status = LeadStatus(lead.status)
    if status != LeadStatus.QUEUED and not can_transition(status, LeadStatus.QUEUED):
        raise AuditRequestError(
            "invalid_status",
            f"This lead is {status.value.replace('_', ' ')}; it cannot be audited again now.",
        )
    try:
        return normalize_url(lead.website_url or "", targets)
    except TargetError as exc:
        raise AuditRequestError(
            exc.code, f"Cannot audit {lead.website_url!r}: {exc.message}"
        ) from None


def _queue(lead: Lead, url: str, actor: Actor, batch_id: int | None) -> Run:
    lead.status = LeadStatus.QUEUED  # allowed: checked in check_request
    lead.status_reason = None
    payload: dict[str, object] = {"url": url}
    if actor.kind == "api_key":  # credited with the finished audit too (no user to name)
        payload["requested_by"] = {"kind": actor.kind, "id": actor.id, "label": actor.label}
    return runs.create(
        KIND,
        subject=("lead", lead.id),
        payload=payload,
        created_by_id=actor.user_id,
        batch_id=batch_id,
    )


def request_audit(
    lead: Lead,
    actor: Actor,
    *,
    batch_id: int | None = None,
    allow_targets: Iterable[str] | None = None,
) -> Run:
    """Queue an audit of ``lead``'s website: lead → queued, a pending run (flushed),
    handed to the worker after the caller's commit.

    Raises :class:`AuditRequestError` (lead untouched, no run) for a missing or unsafe
    URL, a lead already queued, or a status that cannot go back to queued.
    """
    lock_leads([lead.id])
    busy = bool(active_run_ids([lead.id]))
    url = check_request(lead, allowed_targets(allow_targets), busy)
    run = _queue(lead, url, actor, batch_id)
    activity.record(
        actor,
        "audit.requested",
        f"Audit queued for {lead.business_name} ({url})",
        subject=("lead", lead.id),
        campaign_id=lead.campaign_id,
    )
    runs.submit_after_commit([run.id])
    return run


def request_audits(
    leads: Iterable[Lead],
    actor: Actor,
    *,
    campaign_id: int | None = None,
    batch_id: int | None = None,
    allow_targets: Iterable[str] | None = None,
) -> BulkRequest:
    """Queue audits for many leads; each refused lead is listed with its reason.

    Creates a ``RunBatch`` for the queued runs (or adds them to ``batch_id``'s batch)
    and one activity line for the whole request; the runs go to the worker after the
    caller's commit.
    """
    leads = list(leads)
    targets = allowed_targets(allow_targets)
    lock_leads([lead.id for lead in leads])
    busy = active_run_ids([lead.id for lead in leads])
    result = BulkRequest()
    accepted: list[tuple[Lead, str]] = []
    for lead in leads:
        try:
            accepted.append((lead, check_request(lead, targets, lead.id in busy)))
        except AuditRequestError as exc:
            result.refused.append((lead, exc.message))
            result.reasons[
                SHORT_REASONS.get(exc.code, f"unsafe or invalid address ({exc.code})")
            ] += 1
    if not accepted:
        return result
    batch = db.session.get(RunBatch, batch_id) if batch_id else None
    if batch is None:
        batch = RunBatch(kind=KIND, campaign_id=campaign_id, total=0, created_by_id=actor.user_id)
        db.session.add(batch)
        db.session.flush()
    batch.total = (batch.total or 0) + len(accepted)
    result.batch = batch
    for lead, url in accepted:
        result.runs.append(_queue(lead, url, actor, batch.id))
    activity.record(
        actor,
        "audit.requested",
        f"{len(accepted)} audits queued"
        + (f", {len(result.refused)} refused" if result.refused else ""),
        campaign_id=campaign_id,
    )
    runs.submit_after_commit([run.id for run in result.runs])
    return result
