"""Saving an audit's outcome: the audit row, its findings, screenshots and the lead.

``app.audits.jobs`` calls these inside its lease-fenced transactions; they flush, never
commit, and record their activity (a finished audit is credited to the actor who asked
for it; a failure to the system). Idempotent: the audit row is keyed by run id, findings
are replaced by check id, screenshots are overwritten under stable keys, so a re-executed
run leaves one audit.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from app import activity, storage
from app.activity import Actor
from app.audits.engine.document import (
    ERROR_CODES,
    SITE_DOWN,
    SITE_DOWN_KINDS,
    Screenshot,
    error_message,
)
from app.audits.engine.scoring import SITE_DOWN_OPPORTUNITY
from app.extensions import db
from app.models import Audit, AuditStatus, Finding, Lead, LeadStatus, Run, transition
from app.models.base import utcnow

log = logging.getLogger(__name__)
EMAIL_PRIORITY = {"mailto": 0, "json-ld": 1, "text": 2, "obfuscated": 3}
PHONE_PRIORITY = {"tel": 0, "json-ld": 1, "text": 2}
FRIENDLY = {
    "lease_expired": "The audit worker stopped before finishing; it was tried {n} times.",
    "lead_missing": "The lead was deleted before its audit ran.",
    "canceled": "The audit was canceled.",
}


def begin_audit(run_id: int, lead_id: int | None, url: str) -> Audit:
    """The audit row of this run (created once, reused by every retry); flushed."""
    audit = db.session.scalar(select(Audit).where(Audit.run_id == run_id))
    if audit is None:
        audit = Audit(run_id=run_id, lead_id=lead_id, url=url, status=AuditStatus.RUNNING)
        db.session.add(audit)
        db.session.flush()
    return audit


def screenshot_key(audit_id: int, name: str) -> str:
    """Storage key of one screenshot."""
    return f"audits/{audit_id}/{name}"


def store_screenshot(audit_id: int, shot: Screenshot) -> dict[str, Any]:
    """Write one image (atomic replace, so a retry overwrites) and return its index entry."""
    key = screenshot_key(audit_id, shot.name)
    storage.save(key, shot.data, shot.content_type, owner=("audit", audit_id))
    return {**shot.meta(), "key": key}


def _scores(document: dict[str, Any]) -> dict[str, Any]:
    scores = document.get("scores")
    return scores if isinstance(scores, dict) else {}


def _replace_findings(audit: Audit, checks: list[dict[str, Any]]) -> int:
    """Make the audit's findings exactly ``checks`` (one per check id), in place."""
    existing = {f.check_id: f for f in db.session.scalars(
        select(Finding).where(Finding.audit_id == audit.id))}
    seen: set[str] = set()
    for check in checks:
        check_id = str(check.get("id") or "")[:80]
        if not check_id or check_id in seen:
            continue
        seen.add(check_id)
        row = existing.get(check_id) or Finding(audit_id=audit.id, check_id=check_id)
        row.category = str(check.get("category") or "other")[:40]
        row.outcome = str(check.get("outcome") or "not_checked")[:20]
        row.severity = str(check.get("severity") or "info")[:20]
        row.passed = check.get("passed")
        row.title = str(check.get("title") or check_id)[:300]
        row.detail = str(check.get("detail") or "")
        row.evidence = check.get("evidence") or {}
        db.session.add(row)
    for check_id, row in existing.items():
        if check_id not in seen:
            db.session.delete(row)
    return len(seen)


def _best(items: list[dict[str, Any]], priority: dict[str, int], domain: str | None) -> str | None:
    def rank(item: dict[str, Any]) -> tuple[int, int]:
        value = str(item.get("value") or "")
        same_site = bool(domain) and value.endswith("@" + (domain or "").removeprefix("www."))
        return (0 if same_site else 1, priority.get(str(item.get("source")), 9))

    usable = [i for i in items or [] if isinstance(i, dict) and i.get("value")]
    return str(min(usable, key=rank)["value"]) if usable else None


def fill_contacts(lead: Lead, contacts: dict[str, Any]) -> list[str]:
    """Fill the lead's EMPTY email and phone from contacts found; never overwrite.

    Returns the names of the fields filled.
    """
    filled: list[str] = []
    if not (lead.email or "").strip():
        email = _best(contacts.get("emails") or [], EMAIL_PRIORITY, lead.domain)
        if email and len(email) <= 254:
            lead.email = email
            filled.append("email")
    if not (lead.phone or "").strip():
        phone = _best(contacts.get("phones") or [], PHONE_PRIORITY, None)
        if phone and len(phone) <= 64:
            lead.phone = phone
            filled.append("phone")
    return filled


def site_down_summary(document: dict[str, Any]) -> str:
    """One line for a site-down audit: its title, then the evidence sentence."""
    found = document.get("site_down")
    down: dict[str, Any] = found if isinstance(found, dict) else {}
    title = str(down.get("title") or SITE_DOWN_KINDS.get(str(down.get("kind")), "Site down"))
    detail = str(down.get("detail") or "")
    return f"{title}. {detail}".strip()[:500]


def record_result(audit: Audit, lead: Lead | None, document: dict[str, Any],
                  shots: dict[str, dict[str, Any]], actor: Actor) -> Audit:
    """Save a finished audit (``status`` ok, site_down, or a permanent error code) and
    update its lead; ``actor`` (who asked for the audit) is credited with the
    "audit.finished" activity. A site that is down is a finished audit without a score and
    with the highest opportunity: the lead shows *site down*."""
    status = str(document.get("status") or "internal_error")
    if status == SITE_DOWN:
        return _record_site_down(audit, lead, document, shots, actor)
    ok = status == "ok"
    scores = _scores(document)
    audit.status = AuditStatus.SUCCEEDED if ok else AuditStatus.FAILED
    audit.final_url = (document.get("final_url") or None) and str(document["final_url"])[:2048]
    http_status = document.get("http_status")
    audit.http_status = http_status if isinstance(http_status, int) else None
    audit.error_code = None if ok else status[:40]
    reason, staff = failure_messages(status, document.get("error"))
    audit.error_message = None if ok else staff[:1000]
    audit.rubric_version = str(document.get("rubric_version") or "")[:20] or None
    audit.score = scores.get("overall") if ok else None
    audit.opportunity = scores.get("opportunity") if ok else None
    audit.scores = scores
    audit.metrics = document.get("metrics") or {}
    audit.timings = document.get("timings") or {}
    audit.contacts = document.get("contacts") or {}
    audit.screenshots = shots
    # The frozen document, with each screenshot's storage key, for pages rendered later.
    audit.snapshot = {**document, "screenshots": list(shots.values())} if shots else document
    audit.finished_at = utcnow()
    count = _replace_findings(audit, list(document.get("checks") or []) if ok else [])
    if lead is None:
        return audit
    if not ok:
        _lead_failed(lead, reason)
        return audit
    if _settle(lead, LeadStatus.AUDITED):
        lead.status_reason = None
    if lead.latest_audit_id is None or lead.latest_audit_id <= audit.id:
        lead.score, lead.opportunity = audit.score, audit.opportunity
        lead.latest_audit_id, lead.audited_at = audit.id, audit.finished_at
        lead.site_down = False
    filled = fill_contacts(lead, audit.contacts)
    summary = f"Audited {lead.business_name}: score {audit.score}, {count} checks"
    if filled:
        summary += f"; filled {' and '.join(filled)} from the site"
    activity.record(actor, "audit.finished", summary, subject=("lead", lead.id),
                    campaign_id=lead.campaign_id)
    return audit


def _record_site_down(audit: Audit, lead: Lead | None, document: dict[str, Any],
                      shots: dict[str, dict[str, Any]], actor: Actor) -> Audit:
    """A finished audit of a site that is broken for every visitor: no score, no findings,
    the evidence and screenshots; the lead is audited, flagged site down, top opportunity."""
    audit.status = AuditStatus.SITE_DOWN
    audit.final_url = (document.get("final_url") or None) and str(document["final_url"])[:2048]
    http_status = document.get("http_status")
    audit.http_status = http_status if isinstance(http_status, int) else None
    audit.error_code = audit.error_message = None
    audit.rubric_version = str(document.get("rubric_version") or "")[:20] or None
    audit.score, audit.opportunity = None, SITE_DOWN_OPPORTUNITY
    audit.scores, audit.metrics, audit.contacts = {}, {}, {}
    audit.timings = document.get("timings") or {}
    audit.screenshots = shots
    audit.snapshot = {**document, "screenshots": list(shots.values())} if shots else document
    audit.finished_at = utcnow()
    _replace_findings(audit, [])
    if lead is None:
        return audit
    summary = site_down_summary(document)
    if _settle(lead, LeadStatus.AUDITED):
        lead.status_reason = None
    if lead.latest_audit_id is None or lead.latest_audit_id <= audit.id:
        lead.score, lead.opportunity = None, SITE_DOWN_OPPORTUNITY
        lead.latest_audit_id, lead.audited_at = audit.id, audit.finished_at
        lead.site_down = True
    activity.record(actor, "audit.finished",
                    f"Audited {lead.business_name}: site down. {summary}"[:500],
                    subject=("lead", lead.id), campaign_id=lead.campaign_id)
    return audit


#: Lead statuses an audit outcome may move: queued (the normal case), and new or
#: audit_failed (a canceled or failed run retried from the Runs page).
SETTLEABLE = (LeadStatus.QUEUED, LeadStatus.NEW, LeadStatus.AUDIT_FAILED)


def _settle(lead: Lead, target: LeadStatus) -> bool:
    """Move the lead to ``target`` through the state machine (via queued when needed).
    False, and no change, when a person has moved the lead on meanwhile."""
    status = LeadStatus(lead.status)
    if status not in SETTLEABLE or status == target:
        return False
    if status != LeadStatus.QUEUED:
        transition(lead, LeadStatus.QUEUED)
    transition(lead, target)
    return True


def _lead_failed(lead: Lead, message: str) -> None:
    """Lead → audit_failed with the reason (once: a second call only updates the reason)."""
    if LeadStatus(lead.status) not in SETTLEABLE:
        return  # moved on by a person meanwhile: leave it alone
    lead.status_reason = message[:500]
    if _settle(lead, LeadStatus.AUDIT_FAILED):
        activity.record(activity.SYSTEM, "audit.failed",
                        f"Audit of {lead.business_name} failed: {message}"[:500],
                        subject=("lead", lead.id), campaign_id=lead.campaign_id)


def failure_messages(code: str, detail: str | None, attempts: int = 1) -> tuple[str, str]:
    """(plain sentence for the lead, sentence plus technical detail for staff)."""
    suffix = f" (after {attempts} attempts)" if attempts > 1 and code not in FRIENDLY else ""
    if code in FRIENDLY:
        plain = FRIENDLY[code].format(n=attempts)
    elif code in ERROR_CODES:
        plain = error_message(code)
    else:
        plain = "The audit failed unexpectedly; see the run log for details."
    detail = (detail or "").removeprefix(f"{code}: ").strip()
    staff = plain if not detail or detail == plain else f"{plain} ({detail})"
    return plain + suffix, staff + suffix


def record_failure(run: Run, code: str, message: str) -> None:
    """A run that failed for good (permanent error, retries spent, lease expired):
    its audit row is marked failed and the lead moves to audit_failed with the reason."""
    reason, staff = failure_messages(code, message, run.attempt)
    lead = db.session.get(Lead, run.subject_id) if run.subject_type == "lead" else None
    if lead is None and run.subject_type == "lead":
        return  # the lead is gone; nothing to mark
    audit = begin_audit(run.id, lead.id if lead else None, str((run.payload or {}).get("url", "")))
    if audit.status == AuditStatus.RUNNING:
        audit.status, audit.finished_at = AuditStatus.FAILED, utcnow()
        audit.error_code, audit.error_message = code[:40], staff[:1000]
    if lead is None:
        return
    if code == "canceled":
        _lead_canceled(lead)
    else:
        _lead_failed(lead, reason)


def _lead_canceled(lead: Lead) -> None:
    """A person canceled the audit: the queued lead goes back to where it was."""
    if LeadStatus(lead.status) == LeadStatus.QUEUED:
        transition(lead, LeadStatus.AUDITED if lead.latest_audit_id else LeadStatus.NEW)
        lead.status_reason = FRIENDLY["canceled"]
