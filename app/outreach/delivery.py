"""Sending approved outreach over SMTP, at most once (docs/reliability.md, email).

Two run kinds (:mod:`app.outreach.jobs`) do the work:

* ``outreach_dispatch`` (every minute, and after each approval or resume): for every
  campaign with approved messages, under the campaign's row lock, gives as many messages
  a slot as the pacing allows, moves them to ``queued`` and creates one ``outreach_send``
  run each, due at its slot (:func:`app.outreach.pacing.dispatch`).
* ``outreach_send`` (:func:`send`, here): one message. In one fenced transaction it
  re-checks everything (still queued, SMTP configured, campaign not paused,
  do-not-contact, approval still valid, Message-ID present), builds the exact bytes and
  commits ``sending``. Only then the SMTP conversation, outside any transaction. Then
  ``sent`` once the server took the message. A run that starts again (its worker died,
  its lease expired) and finds its message in ``sending`` marks it ``unknown`` without
  opening any connection: a person settles it; it is never sent again automatically.

A 4xx, a refused or dropped connection, or a timeout before the end of the data puts the
message back to ``queued`` and the run retries with backoff; a 5xx saying the mailbox
does not exist (5.1.x, user unknown) fails it and adds the address to do-not-contact
(bounced); any other 5xx (relaying denied, 5.7.x policy, authentication) fails it without
touching do-not-contact and counts toward the campaign's pause; a drop after the
whole message went out makes it ``unknown``. A campaign pauses itself after
``OUTREACH_PAUSE_AFTER_FAILURES`` SMTP failures in a row, with the reason shown and a
resume button (:mod:`app.outreach.controls`: resume, settle, pace, test email).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from app import activity, mail
from app.activity import Actor
from app.extensions import db
from app.jobs import registry, runs
from app.jobs.context import LeaseLost, RunContext
from app.leads import dnc
from app.models import (
    BlacklistReason,
    Campaign,
    CampaignStatus,
    Lead,
    LeadStatus,
    Outreach,
    OutreachStatus,
    Run,
    transition,
)
from app.models.base import utcnow
from app.models.states import DO_NOT_CONTACT, SALES_STAGES
from app.outreach import unsubscribe, window
from app.outreach.headers import HeaderProblem, ascii_address
from app.outreach.history import record_status
from app.outreach.message import MessageError, Parts, build, to_bytes
from app.outreach.queries import approval_problem, approval_still_valid
from app.settings import queries as settings_queries
from app.webhooks.events import emit

log = logging.getLogger(__name__)
OS = OutreachStatus
SENDER = Actor.system("PitchFast sender")
SEND_KIND = "outreach_send"
DISPATCH_KIND = "outreach_dispatch"
_KICKED = "outreach_dispatch_kicked"
UNKNOWN_NOTE = ("Found in sending when its run started again (the worker stopped or lost "
                "its lease mid-send): it may have reached the server, so it is not sent "
                "again. Check the mailbox or the server's log, then mark it sent or failed.")


# --- state ---------------------------------------------------------------------------------


def sending_enabled(config: Mapping[str, Any]) -> bool:
    """True when an SMTP server is configured and nothing blocks sending (otherwise
    approved messages wait)."""
    return mail.is_configured(config) and sending_blocked(config) is None


def sending_blocked(config: Mapping[str, Any]) -> str | None:
    """Why sending is refused although SMTP is configured, or None: an SMTP server that is
    not on this machine (real email to real people) while ``PUBLIC_BASE_URL`` is not
    https:// (every email's audit and unsubscribe links would be dead or unsafe)."""
    if not mail.is_configured(config):
        return None
    host = str(config.get("SMTP_HOST") or "").strip()
    base = str(config.get("PUBLIC_BASE_URL") or "").strip()
    if mail.is_loopback(host) or base.startswith("https://"):
        return None
    return (f"Sending is refused: SMTP goes to {host}, a server that delivers real email, "
            f"but PUBLIC_BASE_URL ({base or 'unset'}) is not an https:// address, so the "
            "audit and unsubscribe links in every email would be dead or unsafe. Set "
            "PUBLIC_BASE_URL to the https:// address people open, and restart.")


def is_paused(campaign: Campaign) -> bool:
    """True when the campaign's sending is paused (by itself or by its status)."""
    return campaign.paused_at is not None or campaign.status in (
        CampaignStatus.PAUSED, CampaignStatus.ARCHIVED)


def kick(*, actor: Actor | None = None) -> None:
    """Queue a dispatch once the current transaction commits (after an approval); one per
    transaction however many messages it approves."""
    info = db.session().info
    if info.get(_KICKED):
        return
    run = runs.create(DISPATCH_KIND, created_by_id=actor.user_id if actor else None)
    runs.submit_after_commit([run.id])
    info[_KICKED] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_kick(session: Session) -> None:
    session.info.pop(_KICKED, None)


# --- the send run --------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A message committed in ``sending`` by this attempt: what to hand the server."""

    outreach_id: int
    token: str
    raw: bytes
    envelope_from: str
    to: str


def _unqueue(o: Outreach, note: str) -> None:
    record_status(o, OS.APPROVED, actor=SENDER, note=note)
    o.slot_at = None
    o.recipient_domain = None


def _parts(o: Outreach, config: Mapping[str, Any]) -> Parts:
    # The agency's postal address and name (cached up to 30 s, like the brand).
    agency = settings_queries.cached_many(settings_queries.AGENCY_DEFAULTS)
    return Parts(
        sender_name=o.sender_name or "",
        sender_email=o.sender_email or "",
        recipient=o.recipient,
        subject=o.subject,
        body=o.body,
        message_id=o.message_id or "",
        postal_address=str(agency.get("postal_address") or ""),
        agency_name=str(agency.get("agency_name") or ""),
        unsubscribe_url=unsubscribe.url_for(o.id),
        html_part=bool(config.get("OUTREACH_HTML_PART")),
    )


def _refusal(o: Outreach, lead: Lead, campaign: Campaign,
             config: Mapping[str, Any]) -> tuple[str, OutreachStatus] | None:
    """Why a queued message must not be sent now, and where it goes instead."""
    if not mail.is_configured(config):
        return "Sending is off (no SMTP server configured); the message waits.", OS.APPROVED
    blocked = sending_blocked(config)
    if blocked:
        return f"{blocked} The message waits.", OS.APPROVED
    if is_paused(campaign):
        return (f"Sending is paused for {campaign.name}"
                f"{': ' + campaign.paused_reason if campaign.paused_reason else ''}.",
                OS.APPROVED)

    pace = window.pace_of(campaign)
    if pace.window is not None and window.open_until(utcnow(), pace) is None:
        return (f"The sending window of {campaign.name} closed before the send "
                f"({window.describe(pace)}); the message waits for the next window.",
                OS.APPROVED)
    if LeadStatus(lead.status) in DO_NOT_CONTACT:
        return f"Not sent: {lead.business_name} is {lead.status.value}.", OS.CANCELED
    reason = dnc.check(lead.domain, o.recipient.strip().lower())
    if reason:
        return f"Not sent: {reason}.", OS.CANCELED
    if not approval_still_valid(o):
        return f"Approval void: {approval_problem(o)}", OS.DRAFT
    return None


def claim_message(outreach_id: int, config: Mapping[str, Any]) -> Claimed | dict[str, Any]:
    """Inside the run's fenced transaction: re-check the message and mark it ``sending``
    (this attempt's token), or say what happened instead (the run's result)."""
    o = db.session.get(Outreach, outreach_id, with_for_update=True, populate_existing=True)
    if o is None:
        return {"outcome": "gone"}
    status = OS(o.status)
    if status == OS.SENDING:
        record_status(o, OS.UNKNOWN, actor=SENDER, note=UNKNOWN_NOTE)
        o.last_error = "Interrupted mid-send: it may have been sent (not sent again)."
        return {"outcome": "unknown", "outreach_id": o.id}
    if status != OS.QUEUED:
        return {"outcome": "skipped", "status": status.value}
    lead = db.session.get_one(Lead, o.lead_id, populate_existing=True)
    # Fresh: a pause or a new window set since the dispatch counts.
    campaign = db.session.get_one(Campaign, lead.campaign_id, populate_existing=True)
    refusal = _refusal(o, lead, campaign, config)
    built: bytes | None = None
    envelope = ("", "")
    if refusal is None:
        try:
            built = to_bytes(build(_parts(o, config), date=utcnow()))
            # On the wire an internationalized domain goes in its ASCII (xn--) form.
            envelope = (ascii_address(str(o.sender_email)), ascii_address(o.recipient.strip()))
        except (MessageError, HeaderProblem) as exc:
            refusal = f"Not sent: {exc}", OS.DRAFT
    if refusal is not None or built is None:
        note, target = refusal or ("Not sent.", OS.DRAFT)
        if target in (OS.APPROVED, OS.DRAFT):
            _unqueue(o, note)
        if target == OS.DRAFT:  # as when an edit voids an approval (outreach.operations)
            record_status(o, OS.DRAFT, actor=SENDER, note=note)
            o.approved_at = o.approved_by_id = o.approved_fingerprint = o.message_id = None
            if lead.status == LeadStatus.APPROVED and o.step == 1:
                transition(lead, LeadStatus.DRAFTED)
        elif target == OS.CANCELED:
            record_status(o, OS.CANCELED, actor=SENDER, note=note)
        o.last_error = note[:1000]
        return {"outcome": target.value, "note": note}
    token = secrets.token_hex(16)
    o.send_token, o.sending_at, o.sent_raw = token, utcnow(), built
    o.attempts = (o.attempts or 0) + 1
    o.unsubscribe_token_hash = unsubscribe.hash_token(unsubscribe.token_for(o.id))
    record_status(o, OS.SENDING, actor=SENDER, note=f"attempt {o.attempts}")
    return Claimed(o.id, token, built, *envelope)


def _lead_and_campaign(o: Outreach) -> tuple[Lead, Campaign]:
    lead = db.session.get_one(Lead, o.lead_id)
    return lead, db.session.get_one(Campaign, lead.campaign_id)


def _ours(claimed: Claimed) -> Outreach | None:
    """The message, locked, if its ``sending`` is still this attempt's."""
    o = db.session.get(Outreach, claimed.outreach_id, with_for_update=True,
                       populate_existing=True)
    if o is None or o.send_token != claimed.token:
        return None
    return o


def mark_sent(claimed: Claimed, answer: str) -> dict[str, Any]:
    """The server took the message: ``sent`` (also from ``unknown``, should another
    worker have flagged it meanwhile), the lead contacted, the event emitted. Flushes."""
    o = _ours(claimed)
    if o is None or OS(o.status) not in (OS.SENDING, OS.UNKNOWN):
        log.warning("outreach %s: sent, but no longer ours to mark", claimed.outreach_id)
        return {"outcome": "sent", "recorded": False}
    record_status(o, OS.SENT, actor=SENDER, note=f"accepted: {answer}"[:1000])
    o.sent_at, o.smtp_response, o.last_error = utcnow(), answer[:500], None
    lead, campaign = _lead_and_campaign(o)
    status = LeadStatus(lead.status)
    if status not in SALES_STAGES and status not in DO_NOT_CONTACT:
        transition(lead, LeadStatus.CONTACTED)
    if campaign.smtp_failures:
        campaign.smtp_failures = 0
    activity.record(SENDER, "outreach.sent", f"sent “{o.subject}” to {o.recipient}",
                    subject=("lead", lead.id), campaign_id=lead.campaign_id)
    emit("outreach.sent", {"outreach_id": o.id, "lead_id": lead.id,
                           "campaign_id": lead.campaign_id, "message_id": o.message_id,
                           "sent_at": o.sent_at.isoformat() + "Z"})
    db.session.flush()
    return {"outcome": "sent", "outreach_id": o.id, "smtp": answer[:200]}


def _count_failure(campaign: Campaign, error: str, config: Mapping[str, Any]) -> None:
    db.session.refresh(campaign, with_for_update=True)
    campaign.smtp_failures = (campaign.smtp_failures or 0) + 1
    limit = int(config.get("OUTREACH_PAUSE_AFTER_FAILURES") or 5)
    if campaign.smtp_failures >= limit and campaign.paused_at is None:
        campaign.paused_at = utcnow()
        campaign.paused_reason = (f"{campaign.smtp_failures} SMTP failures in a row; the last: "
                                  f"{error}")[:500]
        activity.record(SENDER, "outreach.paused",
                        f"paused sending for {campaign.name}: {campaign.paused_reason}",
                        subject=("campaign", campaign.id), campaign_id=campaign.id)


def record_failure(claimed: Claimed, exc: mail.MailError,
                   config: Mapping[str, Any]) -> None:
    """Record what the server said on the message and the campaign (flushes)."""
    o = _ours(claimed)
    if o is None:
        return
    o.last_error = exc.message[:1000]
    lead, campaign = _lead_and_campaign(o)
    status = OS(o.status)
    if exc.kind == "temporary" and status == OS.SENDING:
        record_status(o, OS.QUEUED, actor=SENDER, note=exc.message)
    elif exc.kind == "unknown" and status == OS.SENDING:
        record_status(o, OS.UNKNOWN, actor=SENDER, note=exc.message)
    elif exc.kind in ("permanent", "rejected") and status in (OS.SENDING, OS.UNKNOWN):
        record_status(o, OS.FAILED, actor=SENDER, note=exc.message)
    if exc.kind == "permanent":
        address = o.recipient.strip().lower()
        dnc.add([(None, address)], None, BlacklistReason.BOUNCED)
        unsubscribe.cancel_pending_to(address, actor=SENDER, keep=o.id,
                          note=f"{address} bounced: {exc.message}"[:1000])
        activity.record(SENDER, "outreach.bounced", f"{address} bounced: {exc.message}",
                        subject=("lead", lead.id), campaign_id=lead.campaign_id)
    else:
        _count_failure(campaign, exc.message, config)
    db.session.flush()


def send(ctx: RunContext) -> dict[str, Any]:
    """The ``outreach_send`` handler: claim (committed ``sending``), SMTP, record."""
    config = current_app.config
    outreach_id = int(ctx.subject_id or 0)
    with ctx.fenced():
        claimed = claim_message(outreach_id, config)
        if not isinstance(claimed, Claimed):
            ctx.log(f"outreach {outreach_id}: {claimed.get('note') or claimed['outcome']}")
            ctx.complete(claimed)
            return claimed
        ctx.log(f"outreach {outreach_id}: sending (attempt {ctx.attempt})")
    try:
        answer = mail.deliver(config, claimed.raw, envelope_from=claimed.envelope_from,
                              to=claimed.to)
    except mail.MailError as exc:
        _in_own_transaction(partial(record_failure, claimed, exc, config))
        raise
    try:  # ``sent`` and the run's success in one transaction, while the lease holds …
        with ctx.fenced():
            result = mark_sent(claimed, answer)
            ctx.complete(result)
    except LeaseLost:  # … else ``sent`` on its own: the server took it, whoever runs now
        result = _in_own_transaction(partial(mark_sent, claimed, answer))
    return dict(result)


def _in_own_transaction(work: Callable[[], Any]) -> Any:
    """Run ``work()`` in a short transaction of its own (not fenced: the message's own
    ``send_token`` says whether this attempt may still write it)."""
    db.session.rollback()
    try:
        result = work()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return result


def classify(exc: BaseException) -> tuple[str, bool]:
    """(error code, transient?) for the send run."""
    if isinstance(exc, mail.MailError):
        return exc.code, exc.kind == "temporary"
    return registry.default_classify(exc)[0], True


def on_final_failure(run: Run, code: str, message: str) -> None:
    """The send run ended without success for good: a message still queued fails (or is
    canceled with its run); one left in ``sending`` becomes ``unknown``."""
    if run.subject_type != "outreach" or run.subject_id is None:
        return
    o = db.session.get(Outreach, run.subject_id)
    if o is None:
        return
    status = OS(o.status)
    if status == OS.QUEUED:
        if code == "canceled":
            record_status(o, OS.CANCELED, actor=SENDER, note="send run canceled by a person")
        else:
            record_status(o, OS.FAILED, actor=SENDER,
                          note=f"gave up after {run.attempt} attempts: {message}"[:1000])
            o.last_error = message[:1000]
    elif status == OS.SENDING:
        record_status(o, OS.UNKNOWN, actor=SENDER, note=UNKNOWN_NOTE)
