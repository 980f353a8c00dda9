"""What people do about sending (the Sending pages and ``pitchfast outreach …``): resume a
campaign that paused itself, settle a message whose fate is unknown, set a campaign's pace,
send a test email; and the Sending page's read model."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from app import activity, mail
from app.activity import Actor
from app.extensions import db
from app.models import Campaign, Lead, LeadStatus, Outreach, OutreachStatus, transition
from app.models.base import utcnow
from app.models.states import DO_NOT_CONTACT, SALES_STAGES
from app.outreach import delivery
from app.outreach.history import record_status
from app.outreach.window import describe, pace_of, valid_zone
from app.settings import queries as settings_queries

log = logging.getLogger(__name__)
OS = OutreachStatus


class DeliveryError(ValueError):
    """A delivery action that cannot be done as asked; the text says why."""




def resume(campaign: Campaign, *, actor: Actor) -> None:
    """Resume a campaign's sending after an automatic pause (dispatch follows the commit)."""
    if campaign.paused_at is None:
        raise DeliveryError(f"Sending is not paused for {campaign.name}.")
    campaign.paused_at = None
    campaign.paused_reason = None
    campaign.smtp_failures = 0
    activity.record(actor, "outreach.resumed", f"resumed sending for {campaign.name}",
                    subject=("campaign", campaign.id), campaign_id=campaign.id)
    delivery.kick(actor=actor)
    db.session.flush()


def settle(o: Outreach, *, sent: bool, actor: Actor) -> None:
    """A person says what became of a message in ``unknown``: sent or failed."""
    if OS(o.status) != OS.UNKNOWN:
        raise DeliveryError("Only a message whose fate is unknown can be settled.")
    record_status(o, OS.SENT if sent else OS.FAILED, actor=actor,
                  note="settled by a person: " + ("it arrived" if sent else "it did not arrive"))
    lead = db.session.get_one(Lead, o.lead_id)
    if sent:
        o.sent_at = o.sent_at or o.sending_at or utcnow()
        status = LeadStatus(lead.status)
        if status not in SALES_STAGES and status not in DO_NOT_CONTACT:
            transition(lead, LeadStatus.CONTACTED)
    activity.record(actor, "outreach.settled",
                    f"marked the email to {o.recipient} {'sent' if sent else 'failed'}",
                    subject=("lead", lead.id), campaign_id=lead.campaign_id)
    db.session.flush()


def send_test(config: Mapping[str, Any], *, to: str, actor: Actor) -> str:
    """Send a short test email to ``to`` now (no transaction may be open). Returns the
    server's answer; raises :class:`app.mail.MailError` or :class:`DeliveryError`."""
    if not mail.is_configured(config):  # (a test email carries no links: not blocked)
        raise DeliveryError("Sending is off: no SMTP server is configured.")
    agency = settings_queries.agency()
    db.session.rollback()
    address = str(agency.get("sender_address") or "")
    from_ = mail.sender(config, name=str(agency.get("sender_name") or ""), address=address)
    raw = mail.plain_message(from_=from_, to=to, subject="PitchFast test email",
                             body="This is a test email from PitchFast: sending works.\n")
    envelope = from_.rpartition("<")[2].rstrip(">") if "<" in from_ else from_
    answer = mail.deliver(config, raw, envelope_from=envelope, to=to)
    log.info("test email sent to %s by %s", to, actor.label)
    activity.record(actor, "outreach.test_email", f"sent a test email to {to} "
                    f"(the server said: {answer})"[:500])
    db.session.commit()
    return answer


def set_pace(campaign: Campaign, *, daily_cap: int | None, domain_daily_cap: int | None,
             min_spacing_seconds: int, window: tuple[int, int] | None, timezone: str,
             actor: Actor) -> None:
    """Store a campaign's pacing (validated by the form; checked again here)."""
    if not valid_zone(timezone):
        raise DeliveryError(f"Unknown time zone {timezone!r}.")
    if window is not None and not 0 <= window[0] < window[1] <= 24 * 60:
        raise DeliveryError("The sending window must end after it starts, within one day.")
    for value in (daily_cap, domain_daily_cap):
        if value is not None and value < 1:
            raise DeliveryError("Caps are at least 1 (empty: no cap).")
    campaign.daily_cap, campaign.domain_daily_cap = daily_cap, domain_daily_cap
    campaign.min_spacing_seconds = max(int(min_spacing_seconds), 0)
    campaign.send_window_start, campaign.send_window_end = window or (None, None)
    campaign.timezone = timezone
    activity.record(actor, "outreach.pace",
                    f"set the sending pace of {campaign.name}: "
                    f"{describe(pace_of(campaign))}",
                    subject=("campaign", campaign.id), campaign_id=campaign.id)
    delivery.kick(actor=actor)
    db.session.flush()


# --- read side (the Sending page) ---------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    counts: dict[str, int]
    unknown: list[Outreach]
    paused: list[Campaign]


def overview(limit: int = 50) -> Overview:
    """Messages by delivery status, those waiting for a person, paused campaigns."""
    wanted = (OS.APPROVED, OS.QUEUED, OS.SENDING, OS.UNKNOWN, OS.FAILED, OS.SENT)
    rows = db.session.execute(
        select(Outreach.status, func.count()).where(Outreach.status.in_(wanted))
        .group_by(Outreach.status)
    ).all()
    counts = {s.value: 0 for s in wanted}
    counts.update({OS(s).value: int(n) for s, n in rows})
    unknown = list(db.session.scalars(select(Outreach).where(Outreach.status == OS.UNKNOWN)
                                      .order_by(Outreach.id).limit(limit)))
    paused = list(db.session.scalars(select(Campaign).where(Campaign.paused_at.is_not(None))
                                     .order_by(Campaign.id).limit(limit)))
    return Overview(counts, unknown, paused)
