"""Pacing: which approved messages may be handed to the SMTP server, and when.

A campaign's limits (``app.models.Campaign``): a daily cap, a per-recipient-domain daily
cap (days are the campaign's local days), a minimum spacing between two sends, and a
sending window in the campaign's time zone. They are enforced from the database: the
dispatcher gives each message a *slot* (``outreach.slot_at``) while it holds the
campaign's row lock (``SELECT … FOR UPDATE`` on Postgres; SQLite's write transactions
begin ``IMMEDIATE``), counting the slots already given. So the limits hold across
restarts, two dispatchers at once and several worker processes. A slot is kept once the
message was tried (sent, failed, unknown) and given back when the message returns to
approved (sending off, campaign paused).

:func:`dispatch` (the ``outreach_dispatch`` run) applies them: per campaign, under the
lock, it queues the messages that fit and creates one ``outreach_send`` run each, due at
its slot.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.jobs import runs
from app.models import Campaign, Lead, Outreach, OutreachStatus
from app.models.base import utcnow
from app.outreach import delivery
from app.outreach.history import record_status
from app.outreach.window import local_day, open_until, pace_of

OS = OutreachStatus

#: Slots are given at most this far ahead (the dispatcher runs every minute or so).
HORIZON = timedelta(minutes=15)
#: Messages looked at per campaign and dispatch.
BATCH = 500


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().lower()


def _used(campaign_id: int, start: datetime, end: datetime) -> tuple[int, dict[str, int]]:
    rows = db.session.execute(
        select(Outreach.recipient_domain, func.count())
        .join(Lead, Lead.id == Outreach.lead_id)
        .where(Lead.campaign_id == campaign_id, Outreach.slot_at >= start,
               Outreach.slot_at < end)
        .group_by(Outreach.recipient_domain)
    ).all()
    per_domain = {str(d or ""): int(n) for d, n in rows}
    return sum(per_domain.values()), per_domain


def _last_slot(campaign_id: int) -> datetime | None:
    return db.session.scalar(
        select(func.max(Outreach.slot_at)).join(Lead, Lead.id == Outreach.lead_id)
        .where(Lead.campaign_id == campaign_id)
    )


def plan_slots(campaign_id: int, candidates: list[Outreach], now: datetime) -> list[
        tuple[Outreach, datetime]]:
    """Give slots to as many ``candidates`` (approved, oldest first) as the campaign's
    limits allow now; the caller holds the campaign's lock (:func:`lock`).
    Returns ``[(message, slot)]`` and sets nothing."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        return []
    pace = pace_of(campaign)
    closes = open_until(now, pace)
    if closes is None:
        return []
    day_start, day_end = local_day(now, pace.tz)
    used, per_domain = _used(campaign_id, day_start, day_end)
    last = _last_slot(campaign_id)
    slot = max(now, last + pace.spacing) if last and pace.spacing else now
    limit = min(closes, now + HORIZON)
    chosen: list[tuple[Outreach, datetime]] = []
    for message in candidates:
        if pace.daily_cap is not None and used >= pace.daily_cap:
            break
        if slot >= limit:
            break
        domain = domain_of(message.recipient)
        if pace.domain_cap is not None and per_domain.get(domain, 0) >= pace.domain_cap:
            continue
        chosen.append((message, slot))
        used += 1
        per_domain[domain] = per_domain.get(domain, 0) + 1
        slot = slot + pace.spacing
    return chosen


def lock(campaign_id: int) -> Campaign | None:
    """Lock the campaign's row for this transaction (pacing decisions are made under it)."""
    return db.session.scalar(
        select(Campaign).where(Campaign.id == campaign_id).with_for_update()
    )


# --- dispatch ------------------------------------------------------------------------------


def _campaigns_with_approved() -> list[int]:
    rows = db.session.scalars(
        select(Lead.campaign_id).join(Outreach, Outreach.lead_id == Lead.id)
        .where(Outreach.status == OS.APPROVED).distinct()
    )
    return sorted(int(c) for c in rows)


def dispatch_campaign(campaign_id: int, now: datetime | None = None) -> list[tuple[int, float]]:
    """Give slots to the campaign's approved messages and create their send runs (flushed,
    not committed; the caller commits, then submits). ``[(run_id, delay seconds)]``."""
    now = now or utcnow()
    campaign = lock(campaign_id)
    if campaign is None or delivery.is_paused(campaign):
        return []
    candidates = list(db.session.scalars(
        select(Outreach).join(Lead, Lead.id == Outreach.lead_id)
        .where(Lead.campaign_id == campaign_id, Outreach.status == OS.APPROVED)
        .order_by(Outreach.approved_at, Outreach.id).limit(BATCH)
    ))
    busy = runs.active_runs(delivery.SEND_KIND, "outreach", [o.id for o in candidates])
    planned: list[tuple[int, float]] = []
    for message, slot in plan_slots(campaign_id,
                                           [o for o in candidates if o.id not in busy], now):
        when = "now" if slot <= now else f"at {slot:%Y-%m-%d %H:%M:%S} UTC"
        record_status(message, OS.QUEUED, actor=delivery.SENDER, note=f"queued to send {when}")
        message.slot_at = slot
        message.recipient_domain = domain_of(message.recipient)
        run = runs.create(delivery.SEND_KIND, subject=("outreach", message.id))
        delay = max((slot - now).total_seconds(), 0.0)
        if delay:
            run.not_before = slot
        planned.append((run.id, delay))
    db.session.flush()
    return planned


def dispatch(now: datetime | None = None) -> dict[str, int]:
    """Pace out every campaign's approved messages (one short transaction per campaign);
    queued runs are handed over after each commit. Nothing happens while sending is off."""
    if not delivery.sending_enabled(current_app.config):
        return {"campaigns": 0, "queued": 0}
    ids = _campaigns_with_approved()
    db.session.commit()
    queued = 0
    for campaign_id in ids:
        try:
            planned = dispatch_campaign(campaign_id, now)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        for run_id, delay in planned:
            runs.submit([run_id], delay=delay or None)
        queued += len(planned)
    return {"campaigns": len(ids), "queued": queued}
