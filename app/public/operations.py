"""Publishing audit pages: publish, revoke, rotate, bulk publish, and counting views.

Operations take the :class:`~app.activity.Actor` who acts, flush but never commit, and
record their activity; the PDF run is handed to the worker after the caller's commit::

    publish(audit, *, actor, expires_at=None, pdf=True) -> PublicLink
    revoke(link, *, actor) -> None
    rotate(link, *, actor) -> PublicLink
    publish_finished(campaign, *, actor) -> int
    record_view(link, *, visitor, now=None) -> bool

A link belongs to the lead: publishing another audit of the same lead moves the link to
it (same token while the link is live); re-publishing a revoked or expired link, and
rotating, bump its ``version`` so every earlier token stays dead. The peer comparison is
computed here, at publish time, and frozen on the link.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update

from app import activity
from app.activity import Actor
from app.extensions import db
from app.jobs import runs
from app.models import Audit, AuditStatus, Campaign, Lead, PublicLink, PublicView, Run, RunStatus
from app.models.base import utcnow
from app.public.queries import hash_token, is_live, token_for
from app.webhooks import events

log = logging.getLogger(__name__)
FINISHED = (AuditStatus.SUCCEEDED, AuditStatus.SITE_DOWN)
PDF_KIND = "public_pdf"
#: A visitor counts once per this long.
VIEW_WINDOW = timedelta(minutes=30)
#: The fewest other audited businesses a comparison may be made against.
MIN_PEERS = 5
PEER_CATEGORIES = ("overall", "speed", "mobile", "seo", "accessibility", "security",
                   "conversion")
#: Who a prospect's view is credited to in the activity feed.
PROSPECT = Actor.system("Prospect")


class PublishError(ValueError):
    """A link that cannot be published as asked; the message is written for people."""


@dataclass(frozen=True)
class Peer:
    lead_id: int
    city: str
    scores: dict[str, Any]


def _lock_lead_link(lead_id: int) -> PublicLink | None:
    return db.session.scalar(
        select(PublicLink).where(PublicLink.lead_id == lead_id).with_for_update()
    )


def _new_version(link: PublicLink) -> None:
    """Bump the version and store the new token's hash: every earlier token is dead."""
    link.version = (link.version or 0) + 1
    link.token_hash = hash_token(token_for(link))


def campaign_peers(campaign_id: int) -> list[Peer]:
    """Every lead of the campaign whose latest audit succeeded with a score."""
    rows = db.session.execute(
        select(Lead.id, Lead.city, Audit.scores)
        .join(Audit, Audit.id == Lead.latest_audit_id)
        .where(Lead.campaign_id == campaign_id, Audit.status == AuditStatus.SUCCEEDED,
               Audit.score.is_not(None))
    ).all()
    return [Peer(r[0], (r[1] or "").strip(), r[2] or {}) for r in rows]


def compare(audit: Audit, lead: Lead, niche: str, peers: list[Peer]) -> dict[str, Any]:
    """How this audit ranks among the campaign's other audited businesses, per category:
    ``{"total": n, "beaten": k}`` only where at least :data:`MIN_PEERS` others have a
    score. Anonymous: counts only."""
    others = [p for p in peers if p.lead_id != lead.id]
    if audit.status != AuditStatus.SUCCEEDED or len(others) < MIN_PEERS:
        return {}
    mine = audit.scores or {}
    cats: dict[str, dict[str, int]] = {}
    for cat in PEER_CATEGORIES:
        value = mine.get(cat)
        theirs = [p.scores.get(cat) for p in others]
        scored = [v for v in theirs if isinstance(v, int | float)]
        if isinstance(value, int | float) and len(scored) >= MIN_PEERS:
            cats[cat] = {"total": len(scored), "beaten": sum(1 for v in scored if v < value)}
    if not cats:
        return {}
    cities = {p.city.casefold() for p in others} | {(lead.city or "").strip().casefold()}
    city = (lead.city or "").strip() if len(cities) == 1 and lead.city else ""
    return {"niche": niche[:120], "city": city[:120], "categories": cats}


def _check_expiry(expires_at: datetime | None, now: datetime) -> None:
    if expires_at is not None and expires_at <= now:
        raise PublishError("The expiry date must be in the future.")


def _retire_audit(audit_id: int | None, now: datetime) -> None:
    """The audit a link no longer shows: its files may be pruned again (upkeep)."""
    if audit_id is None:
        return
    old = db.session.get(Audit, audit_id)
    if old is not None and old.published_at is not None:
        old.revoked_at = now


def request_pdf(link: PublicLink, *, after_failure: bool = True) -> bool:
    """Queue the PDF of the link's current version unless it exists or is being made;
    with ``after_failure=False`` (a prospect's download, not a staff action) also not when
    the last run for this version failed for good. Returns whether a run was queued."""
    state = pdf_state(link)
    if state in ("ready", "pending") or (state == "failed" and not after_failure):
        return False
    run = runs.create(PDF_KIND, subject=("public_link", link.id),
                      payload={"version": link.version, "audit_id": link.audit_id})
    runs.submit_after_commit([run.id])
    return True


#: Run states after which no PDF will come without someone acting (staff retry it).
_GAVE_UP = (RunStatus.FAILED, RunStatus.DEAD, RunStatus.CANCELED)


def pdf_state(link: PublicLink) -> str | None:
    """The PDF of the link's current version: ``"ready"``, ``"pending"`` (a run is on its
    way), ``"failed"`` (the latest run for this version and audit gave up) or None (never
    asked for). Reads only."""
    if link.pdf_version == link.version and link.pdf_key == pdf_key(link):
        return "ready"
    rows = db.session.execute(
        select(Run.status, Run.payload).where(Run.kind == PDF_KIND,
                                              Run.subject_type == "public_link",
                                              Run.subject_id == link.id)
        .order_by(Run.id.desc()).limit(20)).all()
    if any(status in runs.ACTIVE for status, _ in rows):
        return "pending"
    for status, payload in rows:
        payload = payload if isinstance(payload, dict) else {}
        if payload.get("version") == link.version and payload.get("audit_id") == link.audit_id:
            return "failed" if status in _GAVE_UP else None
    return None


def pdf_key(link: PublicLink) -> str:
    """Storage key of the PDF of the link's current version and audit."""
    return f"public/{link.id}/{link.version}-{link.audit_id}.pdf"


def publish(audit: Audit, *, actor: Actor, expires_at: datetime | None = None,
            peers: list[Peer] | None = None, pdf: bool = True) -> PublicLink:
    """Publish a finished audit (done or site down) on its lead's public link.

    Creates the lead's link or reuses it; a revoked or expired link gets a new version.
    ``expires_at`` (naive UTC) sets or clears the expiry. ``pdf=False`` leaves the PDF to
    be made on its first download (bulk publishing must not queue a browser print per lead
    ahead of audits). Raises :class:`PublishError`
    (a ``ValueError``) for an audit that is not finished or has no lead.
    """
    status = AuditStatus(audit.status)
    if status not in FINISHED:
        word = {"running": "still running", "failed": "failed"}.get(status.value, status.value)
        raise PublishError(f"Only a finished audit can be published; this one {word}."
                           if status.value == "failed" else
                           f"Only a finished audit can be published; this one is {word}.")
    if audit.lead_id is None:
        raise PublishError("This audit has no lead to publish it for.")
    now = utcnow()
    _check_expiry(expires_at, now)
    lead = db.session.get(Lead, audit.lead_id)
    if lead is None:
        raise PublishError("The lead of this audit no longer exists.")
    campaign = db.session.get(Campaign, lead.campaign_id)
    link = _lock_lead_link(lead.id)
    if link is None:
        # A placeholder hash until the id (part of the token) exists.
        link = PublicLink(lead_id=lead.id, version=1, token_hash=secrets.token_hex(32),
                          view_count=0, frozen={})
        db.session.add(link)
        db.session.flush()
        link.token_hash = hash_token(token_for(link))
        verb = "public.published"
    elif not is_live(link, now) and link.published_at is not None:
        _new_version(link)  # revoked or expired: the old token must stay dead
        verb = "public.republished"
    else:
        verb = "public.published"
    if link.audit_id != audit.id:
        _retire_audit(link.audit_id, now)
    link.audit_id = audit.id
    link.published_at, link.revoked_at, link.expires_at = now, None, expires_at
    if peers is None:
        peers = campaign_peers(lead.campaign_id)
    link.frozen = {
        "business_name": lead.business_name,
        "audit_id": audit.id,
        "peers": compare(audit, lead, campaign.niche if campaign else "", peers),
    }
    audit.published_at, audit.revoked_at = now, None
    db.session.flush()
    if pdf:
        request_pdf(link)
    until = f" until {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
    activity.record(actor, verb, f"Published the audit page of {lead.business_name}{until}",
                    subject=("lead", lead.id), campaign_id=lead.campaign_id)
    return link


def revoke(link: PublicLink, *, actor: Actor) -> None:
    """Kill the link now: its page, screenshots and PDF all 404 from the next request."""
    if link.revoked_at is not None:
        return
    now = utcnow()
    link.revoked_at = now
    _retire_audit(link.audit_id, now)
    lead = db.session.get(Lead, link.lead_id)
    db.session.flush()
    if lead is not None:
        activity.record(actor, "public.revoked",
                        f"Revoked the audit page of {lead.business_name}",
                        subject=("lead", lead.id), campaign_id=lead.campaign_id)


def rotate(link: PublicLink, *, actor: Actor) -> PublicLink:
    """A new token for the same page; the old one stops working at once."""
    _new_version(link)
    db.session.flush()
    if is_live(link):
        request_pdf(link)
    lead = db.session.get(Lead, link.lead_id)
    if lead is not None:
        activity.record(actor, "public.rotated",
                        f"Replaced the link to the audit page of {lead.business_name}",
                        subject=("lead", lead.id), campaign_id=lead.campaign_id)
    return link


def publish_finished(campaign: Campaign, *, actor: Actor) -> int:
    """Publish every lead's latest finished audit in the campaign that is not already
    live on its link; returns how many were published. The peers are read once. Links
    staff revoked stay revoked (re-publishing one is a deliberate single action), and no
    PDF is queued: each is made on its first download."""
    peers = campaign_peers(campaign.id)
    count = 0
    last_id = 0
    while True:
        rows = db.session.execute(
            select(Lead.id, Audit)
            .join(Audit, Audit.id == Lead.latest_audit_id)
            .where(Lead.campaign_id == campaign.id, Lead.id > last_id,
                   Audit.status.in_(FINISHED))
            .order_by(Lead.id).limit(200)
        ).all()
        if not rows:
            break
        last_id = rows[-1][0]
        links = {link.lead_id: link for link in db.session.scalars(
            select(PublicLink).where(PublicLink.lead_id.in_([r[0] for r in rows])))}
        for lead_id, audit in rows:
            link = links.get(lead_id)
            if link is not None and (link.revoked_at is not None or
                                     (is_live(link) and link.audit_id == audit.id)):
                continue
            publish(audit, actor=actor, peers=peers, pdf=False)
            count += 1
    if count:
        activity.record(actor, "public.bulk_published",
                        f"Published {count} audit page{'s' if count != 1 else ''} "
                        f"in {campaign.name}", subject=("campaign", campaign.id),
                        campaign_id=campaign.id)
    return count


def prune_views(now: datetime | None = None) -> int:
    """Forget visitor keys older than a day (they only serve the half-hour window); the
    upkeep run calls it, so no prospect's request pays for it."""
    cutoff = (now or utcnow()) - timedelta(days=1)
    result = cast(CursorResult[Any], db.session.execute(
        delete(PublicView).where(PublicView.viewed_at < cutoff)))
    return int(result.rowcount or 0)


def record_view(link: PublicLink, *, visitor: str, now: datetime | None = None) -> bool:
    """Count one view by ``visitor`` (a hashed key) unless they were counted in the last
    half hour. The first view ever is announced: activity, ``page.viewed`` webhook, hot
    lead. Returns whether the view was counted."""
    now = now or utcnow()
    recent = db.session.scalar(
        select(PublicView.id).where(PublicView.link_id == link.id,
                                    PublicView.visitor == visitor,
                                    PublicView.viewed_at > now - VIEW_WINDOW).limit(1))
    if recent is not None:
        return False
    db.session.add(PublicView(link_id=link.id, visitor=visitor[:64], viewed_at=now))
    db.session.execute(update(PublicLink).where(PublicLink.id == link.id).values(
        view_count=PublicLink.view_count + 1, last_viewed_at=now))
    first = cast(CursorResult[Any], db.session.execute(
        update(PublicLink).where(PublicLink.id == link.id,
                                 PublicLink.first_viewed_at.is_(None))
        .values(first_viewed_at=now)))
    is_first = first.rowcount == 1
    if is_first:
        lead = db.session.get(Lead, link.lead_id)
        name = lead.business_name if lead else "a lead's"
        activity.record(PROSPECT, "public.first_view",
                        f"opened the {name} audit page for the first time: hot lead",
                        subject=("lead", link.lead_id),
                        campaign_id=lead.campaign_id if lead else None)
        # the webhook event is the first real view (the one that makes a lead hot)
        events.emit("page.viewed", {"lead_id": link.lead_id, "audit_id": link.audit_id,
                                    "first_view": True, "viewed_at": now.isoformat() + "Z"})
    db.session.flush()
    return True
