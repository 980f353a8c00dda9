"""Writing outreach up to approval: templates, drafts (one or bulk), edits, approval and
rejection (one or bulk), "mark replied" and follow-up drafts. Each operation flushes,
never commits, and records its activity; status changes go through
:func:`app.outreach.history.record_status`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import make_msgid

from sqlalchemy import select

from app import activity
from app.activity import Actor
from app.extensions import db
from app.leads import dnc
from app.models import (
    Campaign,
    Lead,
    LeadStatus,
    Outreach,
    OutreachStatus,
    OutreachTemplate,
    TemplateVariant,
    transition,
)
from app.models.base import utcnow
from app.models.states import DO_NOT_CONTACT, SALES_STAGES, can_transition
from app.outreach import delivery, queries, templates
from app.outreach.headers import (
    HeaderProblem,
    check_header,
    header_problem,
    normalize_address,
)
from app.outreach.history import record_created, record_status
from app.webhooks import events

OS = OutreachStatus
MAX_SUBJECT = 300
MAX_BODY = 20_000
MAX_BULK = 5000
FOLLOW_UP_STEP = 2
#: A step-1 message in one of these means the lead was (or may have been) emailed.
CONTACTED_STATUSES = (OS.SENT, OS.UNKNOWN, OS.SENDING)


class OutreachError(ValueError):
    """An outreach action refused, with a message for the person who tried it."""


# --- templates ---------------------------------------------------------------------------


def save_template(campaign: Campaign, *, step: int, variant: TemplateVariant, subject: str,
                  body: str, actor: Actor) -> OutreachTemplate:
    """Create or replace a campaign's template for one step and variant. TemplateProblem
    (an OutreachError) for syntax errors and unknown fields; nothing is stored then."""
    if step not in (1, FOLLOW_UP_STEP):
        raise OutreachError("A template is for the first email (step 1) or the follow-up (2).")
    _check_subject(subject)
    subject, body = subject.strip(), body.strip()
    if not subject or not body:
        raise OutreachError("A template needs a subject and a body.")
    if len(subject) > MAX_SUBJECT:
        raise OutreachError(f"The subject is too long (at most {MAX_SUBJECT} characters).")
    try:
        templates.check(subject, label="subject")
        templates.check(body, label="body")
    except (templates.TemplateProblem, HeaderProblem) as exc:
        raise OutreachError(str(exc)) from None
    if "audit_link" not in templates.fields_used(body):
        raise OutreachError("The body must include {{ audit_link }}: every email links to "
                            "the lead's public audit page.")
    row = queries.get_template(campaign.id, step, variant)
    if row is None:
        row = OutreachTemplate(campaign_id=campaign.id, step=step, variant=variant,
                               subject=subject, body=body)
        db.session.add(row)
    row.subject, row.body, row.updated_by_id = subject, body, actor.user_id
    db.session.flush()
    label = "follow-up" if step == FOLLOW_UP_STEP else "first email"
    kind = " (site down)" if variant == TemplateVariant.SITE_DOWN else ""
    activity.record(actor, "outreach.template", f"saved the {label}{kind} template of "
                    f"{campaign.name}", subject=("campaign", campaign.id),
                    campaign_id=campaign.id)
    return row


def set_follow_up_days(campaign: Campaign, days: int | None, *, actor: Actor) -> None:
    """Days after the first email that a follow-up is drafted (None: no follow-up)."""
    if days is not None and not 1 <= days <= 90:
        raise OutreachError("A follow-up comes 1 to 90 days after the first email.")
    campaign.follow_up_days = days
    db.session.flush()
    what = f"{days} days after the first email" if days else "off"
    activity.record(actor, "outreach.follow_up", f"set follow-ups of {campaign.name} to {what}",
                    subject=("campaign", campaign.id), campaign_id=campaign.id)


def _locked(message: Outreach) -> Outreach:
    """``message`` re-read under a row lock (PostgreSQL; SQLite's write transactions are
    already serial), so two people acting at once see each other's status change."""
    db.session.flush()
    db.session.refresh(message, with_for_update=True)
    return message


def _check_subject(subject: str) -> None:
    """Checked as typed, before any trimming (a trailing U+2028 is "whitespace")."""
    try:
        check_header("subject", subject)
    except HeaderProblem as exc:
        raise OutreachError(str(exc)) from None


# --- drafts ------------------------------------------------------------------------------


@dataclass
class _Reads:
    """What a bulk draft reads once, not per lead: templates by variant, the sender."""

    templates: dict[TemplateVariant, OutreachTemplate | None] = field(default_factory=dict)
    sender: queries.Sender | None = None


def _render_for(lead: Lead, campaign: Campaign, step: int,
                reads: _Reads | None = None) -> tuple[Outreach, list[str]]:
    """A new, unsaved message for ``lead`` and what is missing in it. OutreachError when
    the lead cannot get one (no audit, no email, do not contact, no template, injection)."""
    if LeadStatus(lead.status) in DO_NOT_CONTACT:
        raise OutreachError(f"{lead.business_name} is {lead.status.value} (do not contact).")
    audit = queries.latest_audit(lead)
    if audit is None:
        raise OutreachError(f"{lead.business_name} has no finished audit to cite.")
    if not lead.email:
        raise OutreachError(f"{lead.business_name} has no email address.")
    try:
        recipient = normalize_address("recipient", lead.email)
    except HeaderProblem as exc:
        raise OutreachError(str(exc)) from None
    reason = dnc.check(lead.domain, recipient)
    if reason:
        raise OutreachError(f"Not drafted: {reason}.")
    for label, raw in (("business name", lead.business_name), ("contact name",
                                                              lead.contact_name or "")):
        problem = header_problem(f"lead's {label}", raw)
        if problem:
            raise OutreachError(f"Not drafted: {problem} Fix the lead first.")
    variant = queries.variant_for(lead)
    reads = reads or _Reads()
    if variant not in reads.templates:
        reads.templates[variant] = queries.get_template(campaign.id, step, variant)
    template = reads.templates[variant]
    if template is None:
        which = "site-down " if variant == TemplateVariant.SITE_DOWN else ""
        label = "follow-up" if step == FOLLOW_UP_STEP else "first-email"
        raise OutreachError(f"{campaign.name} has no {which}{label} template yet: write one "
                            "under Outreach → Templates.")
    if reads.sender is None:
        reads.sender = queries.sender_for(campaign)
    values = queries.merge_values(lead, campaign, audit, reads.sender)
    try:
        subject = templates.render(template.subject, values, label="subject")
        body = templates.render(template.body, values, label="body")
        check_header("subject", subject.text.strip())
    except templates.TemplateProblem as exc:
        raise OutreachError(str(exc)) from None
    except HeaderProblem as exc:
        raise OutreachError(f"{lead.business_name}: {exc}") from None
    message = Outreach(lead_id=lead.id, audit_id=audit.id, template_id=template.id, step=step,
                       recipient=recipient, subject=subject.text.strip()[:MAX_SUBJECT],
                       body=body.text[:MAX_BODY])
    return message, sorted(set(subject.missing) | set(body.missing))


def _created(message: Outreach, missing: list[str], *, actor: Actor) -> None:
    message.status = OS.DRAFT if missing else OS.PENDING_APPROVAL
    db.session.add(message)
    db.session.flush()
    note = f"missing: {', '.join(missing)}" if missing else "drafted"
    record_created(message, actor=actor, note=note)


def draft_for_lead(lead: Lead, *, actor: Actor, campaign: Campaign | None = None) -> Outreach:
    """Draft the first email for one lead. OutreachError when it cannot have one (see
    :func:`_render_for`) or already has a message on its way."""
    campaign = campaign or db.session.get_one(Campaign, lead.campaign_id)
    if queries.open_outreach(lead.id) is not None:
        raise OutreachError(f"{lead.business_name} already has a message on its way.")
    if _already_contacted(lead):
        raise OutreachError(f"{lead.business_name} has already been emailed (or is "
                            f"{lead.status.value}): draft a follow-up instead.")
    message, missing = _render_for(lead, campaign, 1)
    _created(message, missing, actor=actor)
    if can_transition(LeadStatus(lead.status), LeadStatus.DRAFTED) and \
            lead.status == LeadStatus.AUDITED:
        transition(lead, LeadStatus.DRAFTED)
    activity.record(actor, "outreach.draft", f"drafted an email to {lead.business_name}",
                    subject=("lead", lead.id), campaign_id=lead.campaign_id)
    return message


def _already_contacted(lead: Lead) -> bool:
    """True when the lead is in a sales stage, or has a first email sent (or possibly
    sent): it never gets a second first email (do-not-contact is refused elsewhere)."""
    if LeadStatus(lead.status) in SALES_STAGES:
        return True
    return db.session.scalar(select(Outreach.id).where(
        Outreach.lead_id == lead.id, Outreach.step == 1,
        Outreach.status.in_(CONTACTED_STATUSES)).limit(1)) is not None


@dataclass
class BulkDrafts:
    """What a bulk draft did: drafted, and every lead left out with why."""

    drafted: list[Outreach] = field(default_factory=list)
    without_email: list[Lead] = field(default_factory=list)
    refused: list[tuple[Lead, str]] = field(default_factory=list)
    already_open: int = 0
    already_contacted: int = 0

    @property
    def summary(self) -> str:
        parts = [f"{len(self.drafted)} drafted"]
        if self.without_email:
            parts.append(f"{len(self.without_email)} without an email address")
        if self.refused:
            parts.append(f"{len(self.refused)} refused")
        if self.already_open:
            parts.append(f"{self.already_open} already with a message on its way")
        if self.already_contacted:
            parts.append(f"{self.already_contacted} already contacted")
        return ", ".join(parts)


def draft_campaign(campaign: Campaign, *, actor: Actor) -> BulkDrafts:
    """Draft the first email for every lead of ``campaign`` with a finished audit and no
    message on its way. Leads without an email are counted and listed, not skipped."""
    result = BulkDrafts()
    pending: list[tuple[Outreach, list[str]]] = []
    reads = _Reads()
    busy = set(db.session.scalars(
        select(Outreach.lead_id).join(Lead, Lead.id == Outreach.lead_id)
        .where(Lead.campaign_id == campaign.id, Outreach.step == 1,
               Outreach.status.in_(queries.OPEN))))
    emailed = set(db.session.scalars(
        select(Outreach.lead_id).join(Lead, Lead.id == Outreach.lead_id)
        .where(Lead.campaign_id == campaign.id, Outreach.step == 1,
               Outreach.status.in_(CONTACTED_STATUSES))))
    contacted = {*SALES_STAGES, *DO_NOT_CONTACT}
    leads = db.session.scalars(
        select(Lead).where(Lead.campaign_id == campaign.id,
                           Lead.latest_audit_id.is_not(None))
        .order_by(Lead.id).limit(MAX_BULK))
    for lead in leads:
        if lead.id in emailed or LeadStatus(lead.status) in contacted:
            result.already_contacted += 1
        elif lead.id in busy:
            result.already_open += 1
        elif not lead.email:
            if queries.latest_audit(lead) is not None:
                result.without_email.append(lead)
        else:
            try:
                message, missing = _render_for(lead, campaign, 1, reads)
            except OutreachError as exc:
                result.refused.append((lead, str(exc)))
                continue
            message.status = OS.DRAFT if missing else OS.PENDING_APPROVAL
            pending.append((message, missing))
            if lead.status == LeadStatus.AUDITED:
                transition(lead, LeadStatus.DRAFTED)
    # One flush for all the new rows (their ids), then their first history rows.
    db.session.add_all([m for m, _ in pending])
    db.session.flush()
    for message, missing in pending:
        record_created(message, actor=actor,
                       note=f"missing: {', '.join(missing)}" if missing else "drafted")
        result.drafted.append(message)
    db.session.flush()
    activity.record(actor, "outreach.draft", f"drafted emails for {campaign.name}: "
                    f"{result.summary}", subject=("campaign", campaign.id),
                    campaign_id=campaign.id)
    return result


def edit_draft(message: Outreach, *, subject: str, body: str, actor: Actor) -> Outreach:
    """Change a message not yet queued. An approved message loses its approval (back to
    draft, then awaiting approval when nothing is missing)."""
    _locked(message)
    if message.status not in (OS.DRAFT, OS.PENDING_APPROVAL, OS.APPROVED):
        raise OutreachError(f"This message is {message.status.value.replace('_', ' ')}; "
                            "only drafts and approved messages not yet sent can be edited.")
    _check_subject(subject)
    subject, body = subject.strip(), body.strip()
    if not subject or not body:
        raise OutreachError("A message needs a subject and a body.")
    if len(subject) > MAX_SUBJECT or len(body) > MAX_BODY:
        raise OutreachError(f"The subject (at most {MAX_SUBJECT} characters) or body (at most "
                            f"{MAX_BODY}) is too long.")
    if subject == message.subject and body == message.body:
        return message
    message.subject, message.body = subject, body
    if message.status == OS.APPROVED:
        _void_approval(message, actor=actor, note="edited after approval: approval voided")
    missing = templates.missing_in(subject, body)
    target = OS.DRAFT if missing else OS.PENDING_APPROVAL
    if message.status != target:
        record_status(message, target, actor=actor,
                      note=f"missing: {', '.join(missing)}" if missing else "edited")
    db.session.flush()
    lead = db.session.get_one(Lead, message.lead_id)
    activity.record(actor, "outreach.edit", f"edited the email to {lead.business_name}",
                    subject=("lead", lead.id), campaign_id=lead.campaign_id)
    return message


def _void_approval(message: Outreach, *, actor: Actor, note: str) -> None:
    record_status(message, OS.DRAFT, actor=actor, note=note)
    message.approved_at = message.approved_by_id = message.approved_fingerprint = None
    message.message_id = None
    lead = db.session.get_one(Lead, message.lead_id)
    if lead.status == LeadStatus.APPROVED and message.step == 1:
        transition(lead, LeadStatus.DRAFTED)


# --- approval ----------------------------------------------------------------------------


def approve(message: Outreach, *, actor: Actor) -> Outreach:
    """Approve one message: fix its sender and Message-ID, fingerprint what was approved.
    OutreachError with the reason when it cannot be approved."""
    _locked(message)
    lead = db.session.get_one(Lead, message.lead_id)
    campaign = db.session.get_one(Campaign, lead.campaign_id)
    sender = queries.sender_for(campaign)
    refusal = queries.approval_refusal(message, lead, sender)
    if refusal:
        raise OutreachError(refusal)
    if message.status == OS.DRAFT:
        record_status(message, OS.PENDING_APPROVAL, actor=actor, note="ready")
    message.sender_name = sender.name
    message.sender_email = normalize_address("sender address", sender.email)
    domain = message.sender_email.rsplit("@", 1)[1]
    message.message_id = make_msgid(idstring=f"pf{message.id}", domain=domain)
    message.approved_by_id = actor.user_id
    message.approved_at = utcnow()
    message.approved_fingerprint = queries.fingerprint(message)
    record_status(message, OS.APPROVED, actor=actor, note="approved")
    if message.step == 1 and lead.status == LeadStatus.DRAFTED:
        transition(lead, LeadStatus.APPROVED)
    db.session.flush()
    activity.record(actor, "outreach.approve", f"approved the email to {lead.business_name}",
                    subject=("lead", lead.id), campaign_id=lead.campaign_id)
    # Delivery: the sending side queues its dispatch here, after the commit
    # (runs.submit_after_commit); approval itself never talks to SMTP.
    delivery.kick(actor=actor)
    return message


@dataclass
class BulkOutcome:
    done: list[Outreach] = field(default_factory=list)
    refused: list[tuple[Outreach, str]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        text = f"{len(self.done)} done"
        return text + (f", {len(self.refused)} refused" if self.refused else "")


def _messages(ids: Iterable[int]) -> list[Outreach]:
    wanted = sorted(set(ids))[:MAX_BULK]
    if not wanted:
        return []
    return list(db.session.scalars(select(Outreach).where(Outreach.id.in_(wanted))
                                   .order_by(Outreach.id)))


def approve_many(ids: Iterable[int], *, actor: Actor) -> BulkOutcome:
    """Approve each message that can be; the others are listed with their reason."""
    out = BulkOutcome()
    for message in _messages(ids):
        try:  # approve refuses before it writes anything
            out.done.append(approve(message, actor=actor))
        except OutreachError as exc:
            out.refused.append((message, str(exc)))
    return out


def reject(message: Outreach, *, actor: Actor, note: str = "") -> Outreach:
    """Cancel a message not yet queued (a draft, awaiting approval, or approved)."""
    _locked(message)
    if message.status not in (OS.DRAFT, OS.PENDING_APPROVAL, OS.APPROVED):
        raise OutreachError(f"This message is {message.status.value.replace('_', ' ')}: "
                            "only messages not yet queued can be rejected.")
    record_status(message, OS.CANCELED, actor=actor, note=(note or "rejected").strip()[:500])
    db.session.flush()
    lead = db.session.get_one(Lead, message.lead_id)
    if message.step == 1 and lead.status in (LeadStatus.DRAFTED, LeadStatus.APPROVED) and \
            queries.open_outreach(lead.id) is None:
        if lead.status == LeadStatus.APPROVED:
            transition(lead, LeadStatus.DRAFTED)
        transition(lead, LeadStatus.AUDITED)
    activity.record(actor, "outreach.reject", f"rejected the email to {lead.business_name}",
                    subject=("lead", lead.id), campaign_id=lead.campaign_id)
    return message


def reject_many(ids: Iterable[int], *, actor: Actor, note: str = "") -> BulkOutcome:
    """Reject each message that can be; the others are listed with their reason."""
    out = BulkOutcome()
    for message in _messages(ids):
        try:
            out.done.append(reject(message, actor=actor, note=note))
        except OutreachError as exc:
            out.refused.append((message, str(exc)))
    return out


# --- replies and follow-ups --------------------------------------------------------------


def mark_replied(lead: Lead, *, actor: Actor, when: datetime | None = None) -> Outreach | None:
    """The lead answered: its latest sent message is marked replied, pending follow-ups
    are canceled, the lead moves to replied and ``outreach.replied`` is announced."""
    now = when or utcnow()
    sent = db.session.scalar(select(Outreach).where(
        Outreach.lead_id == lead.id, Outreach.status == OS.SENT).order_by(Outreach.id.desc())
        .limit(1))
    if sent is None:
        raise OutreachError(f"No email has been sent to {lead.business_name} yet.")
    if sent.replied_at is None:
        sent.replied_at = now
    for pending in db.session.scalars(select(Outreach).where(
            Outreach.lead_id == lead.id, Outreach.step == FOLLOW_UP_STEP,
            Outreach.status.in_((OS.DRAFT, OS.PENDING_APPROVAL, OS.APPROVED, OS.QUEUED)))):
        record_status(pending, OS.CANCELED, actor=actor, note="the lead replied")
    if lead.status not in DO_NOT_CONTACT and can_transition(LeadStatus(lead.status),
                                                            LeadStatus.REPLIED):
        transition(lead, LeadStatus.REPLIED)
    db.session.flush()
    activity.record(actor, "outreach.replied", f"marked {lead.business_name} as replied",
                    subject=("lead", lead.id), campaign_id=lead.campaign_id)
    events.emit("outreach.replied", {"outreach_id": sent.id, "lead_id": lead.id,
                                     "campaign_id": lead.campaign_id,
                                     "replied_at": now.isoformat() + "Z"})
    return sent


def due_follow_ups(campaign: Campaign, now: datetime | None = None) -> list[Outreach]:
    """First emails of ``campaign`` sent at least ``follow_up_days`` ago, not replied to,
    without a follow-up yet (bounded)."""
    if not campaign.follow_up_days:
        return []
    cutoff = (now or utcnow()) - timedelta(days=campaign.follow_up_days)
    followed = select(Outreach.follows_id).where(Outreach.follows_id.is_not(None))
    return list(db.session.scalars(
        select(Outreach).join(Lead, Lead.id == Outreach.lead_id)
        .where(Lead.campaign_id == campaign.id, Outreach.step == 1, Outreach.status == OS.SENT,
               Outreach.sent_at <= cutoff, Outreach.replied_at.is_(None),
               Outreach.id.not_in(followed))
        .order_by(Outreach.id).limit(MAX_BULK)))


def draft_follow_ups(campaign: Campaign, *, actor: Actor,
                     now: datetime | None = None) -> BulkDrafts:
    """Draft the follow-up of every first email that is due (see :func:`due_follow_ups`),
    unless the lead replied, unsubscribed or bounced (do-not-contact)."""
    result = BulkDrafts()
    reads = _Reads()
    for first in due_follow_ups(campaign, now):
        lead = db.session.get_one(Lead, first.lead_id)
        if lead.status == LeadStatus.REPLIED or lead.status in DO_NOT_CONTACT:
            result.refused.append((lead, f"{lead.business_name} is {lead.status.value}."))
            continue
        try:
            message, missing = _render_for(lead, campaign, FOLLOW_UP_STEP, reads)
        except OutreachError as exc:
            result.refused.append((lead, str(exc)))
            continue
        message.follows_id = first.id
        message.recipient = first.recipient
        _created(message, missing, actor=actor)
        result.drafted.append(message)
    db.session.flush()
    if result.drafted or result.refused:
        activity.record(actor, "outreach.draft", f"drafted follow-ups for {campaign.name}: "
                        f"{result.summary}", subject=("campaign", campaign.id),
                        campaign_id=campaign.id)
    return result
