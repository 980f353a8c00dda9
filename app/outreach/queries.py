"""Reading outreach: the approval check the sender relies on, the approval queue, a
lead's messages with their history, templates."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from app.audits.queries import SEVERITY_ORDER
from app.audits.results import site_down_summary
from app.extensions import db
from app.leads import dnc
from app.models import (
    Audit,
    AuditStatus,
    Campaign,
    Finding,
    Lead,
    LeadStatus,
    Outreach,
    OutreachEvent,
    OutreachStatus,
    OutreachTemplate,
    TemplateVariant,
)
from app.models.states import DO_NOT_CONTACT
from app.outreach import templates
from app.outreach.headers import HeaderProblem, check_header, normalize_address
from app.public.queries import is_live, link_for_lead, public_url
from app.settings import queries as settings_queries
from app.untrusted import clean_text

OS = OutreachStatus
#: Messages still on their way: a lead with one gets no new first draft.
OPEN = (OutreachStatus.DRAFT, OutreachStatus.PENDING_APPROVAL, OutreachStatus.APPROVED,
        OutreachStatus.QUEUED, OutreachStatus.SENDING, OutreachStatus.UNKNOWN)
#: What the approval queue shows.
AWAITING = (OutreachStatus.DRAFT, OutreachStatus.PENDING_APPROVAL)
TOP_FINDINGS = 3
PAGE_SIZE = 25


def fingerprint(outreach: Outreach) -> str:
    """SHA-256 of everything an approval vouches for: who gets it, from whom, what it
    says and which audit it cites. Any edit after approval changes it."""
    fields = [
        outreach.lead_id,
        outreach.audit_id,
        outreach.recipient,
        outreach.sender_name or "",
        outreach.sender_email or "",
        outreach.subject,
        outreach.body,
        outreach.message_id or "",
    ]
    raw = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def approval_still_valid(outreach: Outreach) -> bool:
    """True when the approval on ``outreach`` still stands: it was approved, the draft is
    unchanged since (same fingerprint), the lead's latest audit is still the one cited,
    and the lead's public page is still live. The send claim calls this."""
    return approval_problem(outreach) is None


def approval_problem(outreach: Outreach) -> str | None:
    """Why the approval on ``outreach`` no longer stands, or None when it does."""
    if outreach.approved_at is None or not outreach.approved_fingerprint:
        return "It has not been approved."
    if outreach.approved_fingerprint != fingerprint(outreach):
        return "The message changed after it was approved."
    lead = db.session.get(Lead, outreach.lead_id)
    if lead is None:
        return "The lead is gone."
    if outreach.audit_id is None or lead.latest_audit_id != outreach.audit_id:
        return "The lead has a newer audit than the one this message cites."
    link = link_for_lead(lead.id)
    if link is None or not is_live(link):
        return "The lead's public audit page is not published."
    if public_url(link) not in outreach.body:
        return "The message does not link to the lead's current public audit page."
    return None


def history(outreach_id: int, limit: int = 100) -> list[OutreachEvent]:
    """A message's status changes, oldest first (bounded)."""
    return list(
        db.session.scalars(
            select(OutreachEvent)
            .where(OutreachEvent.outreach_id == outreach_id)
            .order_by(OutreachEvent.id)
            .limit(limit)
        )
    )


def count_for_lead(lead_id: int) -> int:
    """How many messages a lead has."""
    return int(
        db.session.scalar(select(func.count()).where(Outreach.lead_id == lead_id)) or 0
    )


def get_outreach_or_404(outreach_id: int) -> Outreach:
    """Load a message staff may see (every member sees every campaign) or 404."""
    return db.get_or_404(Outreach, outreach_id)


def get_template(campaign_id: int, step: int, variant: TemplateVariant) -> OutreachTemplate | None:
    """A campaign's template for one step and variant, if written."""
    return db.session.scalar(
        select(OutreachTemplate).where(
            OutreachTemplate.campaign_id == campaign_id,
            OutreachTemplate.step == step,
            OutreachTemplate.variant == variant,
        )
    )


def campaign_templates(campaign_id: int) -> dict[tuple[int, str], OutreachTemplate]:
    """``{(step, variant): template}`` of a campaign (at most four)."""
    rows = db.session.scalars(
        select(OutreachTemplate).where(OutreachTemplate.campaign_id == campaign_id)
    )
    return {(t.step, TemplateVariant(t.variant).value): t for t in rows}


def variant_for(lead: Lead) -> TemplateVariant:
    """Site-down leads get their own template (no grade to cite)."""
    return TemplateVariant.SITE_DOWN if lead.site_down else TemplateVariant.STANDARD


@dataclass(frozen=True)
class Sender:
    name: str
    email: str
    postal_address: str
    agency_name: str

    @property
    def problems(self) -> list[str]:
        """Why nothing can be approved with this sender (empty when it can)."""
        found = []
        if not self.email:
            found.append("No sender address: set one on the campaign (Edit campaign) or "
                         "the agency's in Settings.")
        if not self.postal_address.strip():
            found.append("No postal address: every email must carry the agency's postal "
                         "address; set it in Settings.")
        return found


def sender_for(campaign: Campaign) -> Sender:
    """The campaign's sender, else the agency's (Settings); the agency's postal address."""
    agency = settings_queries.agency()
    email = (campaign.sender_email or agency["sender_address"] or "").strip()
    name = (campaign.sender_name or agency["sender_name"] or agency["agency_name"] or "").strip()
    return Sender(name=name, email=email, postal_address=str(agency["postal_address"] or ""),
                  agency_name=str(agency["agency_name"] or ""))


def latest_audit(lead: Lead) -> Audit | None:
    """The lead's latest finished audit (succeeded or site down), or None."""
    if lead.latest_audit_id is None:
        return None
    audit = db.session.get(Audit, lead.latest_audit_id)
    if audit is None or audit.status not in (AuditStatus.SUCCEEDED, AuditStatus.SITE_DOWN):
        return None
    return audit


def top_findings(audit: Audit, limit: int = TOP_FINDINGS) -> tuple[list[str], int]:
    """The worst failed or warned checks in plain words (titles), and how many there are."""
    rows = list(
        db.session.execute(
            select(Finding.title, Finding.severity, Finding.outcome)
            .where(Finding.audit_id == audit.id, Finding.outcome.in_(("fail", "warn")))
            .limit(500)
        )
    )
    rows.sort(key=lambda r: (r.outcome != "fail", SEVERITY_ORDER.get(r.severity, 9)))
    return [clean_text(r.title).strip()[:200] for r in rows[:limit]], len(rows)


def audit_link(lead: Lead) -> str | None:
    """The lead's public audit page when it is live, else None."""
    link = link_for_lead(lead.id)
    return public_url(link) if link is not None and is_live(link) else None


def merge_values(lead: Lead, campaign: Campaign, audit: Audit | None,
                 sender: Sender | None = None) -> dict[str, Any]:
    """Every merge field's value for one lead (None where it has none)."""
    sender = sender or sender_for(campaign)
    findings, count = top_findings(audit) if audit is not None else ([], 0)
    contact = clean_text(lead.contact_name).strip() or None
    score = audit.score if audit is not None and audit.status == AuditStatus.SUCCEEDED else None
    down = (site_down_summary(audit.snapshot or {})
            if audit is not None and audit.status == AuditStatus.SITE_DOWN else None)
    return {
        "business_name": clean_text(lead.business_name).strip() or None,
        "contact_name": contact,
        "first_name": contact.split()[0] if contact else None,
        "city": clean_text(lead.city).strip() or None,
        "website": (audit.final_url or audit.url) if audit is not None else lead.website_url,
        "domain": lead.domain,
        "score": score,
        "grade": templates.letter_grade(score),
        "top_findings": templates.bullet_lines(findings) or None,
        "findings": findings,
        "finding_count": count if audit is not None and score is not None else None,
        "site_down_problem": down,
        "audit_link": audit_link(lead),
        "agency_name": sender.agency_name or None,
        "sender_name": sender.name or None,
        "sender_email": sender.email or None,
        "postal_address": sender.postal_address or None,
    }


@dataclass
class Preview:
    """A template filled in for one lead, with what is wrong with the result."""

    subject: str = ""
    body: str = ""
    missing: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def preview(subject: str, body: str, values: dict[str, Any]) -> Preview:
    """Fill a subject and body (unsaved text from the editor) for the preview pane."""
    from app.outreach.headers import header_problem

    out = Preview()
    for label, source in (("subject", subject), ("body", body)):
        try:
            rendered = templates.render(source, values, label=label)
        except templates.TemplateProblem as exc:
            out.errors.append(str(exc))
            continue
        setattr(out, label, rendered.text)
        out.missing.extend(m for m in rendered.missing if m not in out.missing)
    problem = header_problem("subject", out.subject.strip())
    if problem:
        out.errors.append(problem)
    return out


def approval_refusal(message: Outreach, lead: Lead, sender: Sender) -> str | None:
    """Why ``message`` cannot be approved now (a sentence), or None."""
    if message.status == OS.DRAFT:
        missing = templates.missing_in(message.subject, message.body)
        if missing:
            return (f"Fields without a value for this lead: {', '.join(missing)}. Edit the "
                    "draft (or the lead) before approving.")
    if message.status not in (OS.DRAFT, OS.PENDING_APPROVAL):
        return f"This message is {message.status.value.replace('_', ' ')}, not awaiting approval."
    if sender.problems:
        return " ".join(sender.problems)
    if LeadStatus(lead.status) in DO_NOT_CONTACT:
        return f"{lead.business_name} is {lead.status.value} (do not contact)."
    reason = dnc.check(lead.domain, message.recipient)
    if reason:
        return f"Not approved: {reason}."
    for label, value in (("subject", message.subject), ("sender name", sender.name)):
        try:
            check_header(label, value)
        except HeaderProblem as exc:
            return str(exc)
    try:
        normalize_address("recipient", message.recipient)
        normalize_address("sender address", sender.email)
    except HeaderProblem as exc:
        return str(exc)
    missing = templates.missing_in(message.subject, message.body)
    if missing:
        return f"Fields without a value: {', '.join(missing)}. Edit the draft first."
    if message.audit_id is None or lead.latest_audit_id != message.audit_id:
        return ("The lead has been audited again since this draft: reject it and draft "
                "again so the email cites the latest audit.")
    link = audit_link(lead)
    if link is None:
        return ("The lead's public audit page is not published: publish it on the lead's "
                "page first (the email links to it).")
    if link not in message.body:
        return ("The message does not link to the lead's public audit page (or links to an "
                "old address of it): put the link back, or reject it and draft again.")
    return None


@dataclass
class QueuePage:
    items: list[tuple[Outreach, Lead]]
    total: int
    next_before: int | None


def approval_queue(campaign_id: int | None = None, before: int | None = None,
                   limit: int = PAGE_SIZE) -> QueuePage:
    """Drafts waiting for a person, newest first, a page at a time (by id)."""
    base = select(Outreach, Lead).join(Lead, Lead.id == Outreach.lead_id).where(
        Outreach.status.in_(AWAITING))
    count = select(func.count()).select_from(Outreach).where(Outreach.status.in_(AWAITING))
    if campaign_id is not None:
        base = base.where(Lead.campaign_id == campaign_id)
        count = count.join(Lead, Lead.id == Outreach.lead_id).where(
            Lead.campaign_id == campaign_id)
    if before is not None:
        base = base.where(Outreach.id < before)
    rows = [(o, lead) for o, lead in db.session.execute(
        base.order_by(Outreach.id.desc()).limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    return QueuePage(items=rows, total=int(db.session.scalar(count) or 0),
                     next_before=rows[-1][0].id if more and rows else None)


def lead_messages(lead_id: int, limit: int = 20) -> list[tuple[Outreach, list[OutreachEvent]]]:
    """A lead's messages, newest first, each with its status history (bounded)."""
    messages = list(db.session.scalars(
        select(Outreach).where(Outreach.lead_id == lead_id)
        .order_by(Outreach.id.desc()).limit(limit)))
    ids = [m.id for m in messages]
    events: dict[int, list[OutreachEvent]] = {i: [] for i in ids}
    if ids:
        for ev in db.session.scalars(select(OutreachEvent).where(
                OutreachEvent.outreach_id.in_(ids)).order_by(OutreachEvent.id).limit(2000)):
            events[ev.outreach_id].append(ev)
    return [(m, events[m.id]) for m in messages]


def open_outreach(lead_id: int, step: int = 1) -> Outreach | None:
    """The lead's message for ``step`` that is still on its way, if any."""
    return db.session.scalar(
        select(Outreach).where(Outreach.lead_id == lead_id, Outreach.step == step,
                               Outreach.status.in_(OPEN)).limit(1))


@dataclass
class QueueCard:
    """One draft in the approval queue, beside the audit it cites."""

    message: Outreach
    lead: Lead
    audit: Audit | None
    findings: list[str]
    link_live: bool
    refusal: str | None


def queue_cards(page: QueuePage) -> list[QueueCard]:
    """The approval queue's cards: each draft with its audit and why it cannot be approved
    (a few small reads per card, a page of 25 at most)."""
    senders: dict[int, Sender] = {}
    cards = []
    for message, lead in page.items:
        if lead.campaign_id not in senders:
            senders[lead.campaign_id] = sender_for(db.session.get_one(Campaign,
                                                                      lead.campaign_id))
        audit = db.session.get(Audit, message.audit_id) if message.audit_id else None
        findings = top_findings(audit, 5)[0] if audit is not None else []
        cards.append(QueueCard(message=message, lead=lead, audit=audit, findings=findings,
                               link_live=audit_link(lead) is not None,
                               refusal=approval_refusal(message, lead,
                                                        senders[lead.campaign_id])))
    return cards


def preview_leads(campaign_id: int, limit: int = 50) -> list[Lead]:
    """Leads of a campaign the editor can preview with: audited ones first (bounded)."""
    return list(db.session.scalars(
        select(Lead).where(Lead.campaign_id == campaign_id)
        .order_by(Lead.latest_audit_id.is_(None), Lead.id).limit(limit)))
