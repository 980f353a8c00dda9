"""One-click unsubscribe (RFC 8058): the token in every message, and what a click does.

The token is ``HMAC-SHA256(SECRET_KEY, "unsubscribe:<outreach id>")`` in URL-safe
base64 (43 characters, 256 bits). It is computed again when the message is built, and
only its SHA-256 is stored (``outreach.unsubscribe_token_hash``, set when the message
goes to ``sending``), so a token opens exactly the message it came in.

Unsubscribing adds the address to do-not-contact (reason ``unsubscribed``) at once,
cancels every message to it that has not gone out, marks its leads unsubscribed, and
emits ``lead.unsubscribed``. Doing it twice changes nothing more.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from flask import current_app
from sqlalchemy import select

from app import activity
from app.activity import Actor
from app.extensions import db
from app.leads import dnc
from app.models import BlacklistReason, Lead, LeadStatus, Outreach, OutreachStatus, transition
from app.outreach.history import record_status
from app.webhooks.events import emit

OS = OutreachStatus
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")
_MISS = "0" * 43
#: Who acts when a recipient unsubscribes (no account, no cookie).
RECIPIENT = Actor.system("recipient (unsubscribe link)")
#: Statuses a message waits in before it is sent (an unsubscribe or bounce cancels them).
PENDING = (OS.DRAFT, OS.PENDING_APPROVAL, OS.APPROVED, OS.QUEUED, OS.FAILED)


def token_for(outreach_id: int) -> str:
    """The unsubscribe token of one message."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"unsubscribe:{outreach_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def hash_token(token: str) -> str:
    """What is stored and looked up: the token's SHA-256 in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def url_for(outreach_id: int) -> str:
    """The absolute unsubscribe address (``PUBLIC_BASE_URL`` + ``/u/<token>``)."""
    base = str(current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return f"{base}/u/{token_for(outreach_id)}"


def outreach_for_token(token: str) -> Outreach | None:
    """The message this token came in, or None (unknown or malformed: same work)."""
    shaped = isinstance(token, str) and TOKEN_RE.fullmatch(token) is not None
    wanted = hash_token(token if shaped else _MISS)
    found = db.session.scalar(select(Outreach).where(Outreach.unsubscribe_token_hash == wanted))
    if not shaped or found is None or found.unsubscribe_token_hash is None:
        return None
    return found if hmac.compare_digest(found.unsubscribe_token_hash, wanted) else None


def is_unsubscribed(o: Outreach) -> bool:
    """True when the message's address is on do-not-contact already."""
    return dnc.check(None, o.recipient.strip().lower()) is not None


def cancel_pending_to(address: str, *, actor: Actor, note: str, keep: int | None = None) -> int:
    """Cancel every message to ``address`` that has not gone out; how many (flushes)."""
    address = address.strip().lower()
    rows = db.session.scalars(
        select(Outreach).where(Outreach.recipient == address, Outreach.status.in_(PENDING))
        .order_by(Outreach.id).limit(1000).with_for_update()
    ).all()
    n = 0
    for o in rows:
        if o.id == keep:
            continue
        record_status(o, OS.CANCELED, actor=actor, note=note)
        o.slot_at = None  # never tried: its slot goes back to the campaign
        n += 1
    db.session.flush()
    return n


def unsubscribe(o: Outreach, *, actor: Actor = RECIPIENT) -> bool:
    """Put the message's address on do-not-contact and stop everything still waiting to
    go to it. True when it was not unsubscribed before (flushes, never commits)."""
    address = o.recipient.strip().lower()
    added = dnc.add([(None, address)], actor.user_id, BlacklistReason.UNSUBSCRIBED) > 0
    canceled = cancel_pending_to(address, actor=actor, note=f"{address} unsubscribed")
    # Two indexed lookups (the lead by id, others by ix_leads_email), not one OR that
    # scans the leads table.
    leads = [db.session.get_one(Lead, o.lead_id)]
    leads += [lead for lead in db.session.scalars(
        select(Lead).where(Lead.email == address).order_by(Lead.id).limit(100))
        if lead.id != o.lead_id]
    for lead in leads:
        if lead.status != LeadStatus.UNSUBSCRIBED:
            transition(lead, LeadStatus.UNSUBSCRIBED)
            lead.status_reason = "unsubscribed with the link in an email"
    campaign_id = next((x.campaign_id for x in leads if x.id == o.lead_id), None)
    if added or canceled:
        activity.record(actor, "lead.unsubscribed",
                        f"{address} unsubscribed"
                        + (f" ({canceled} waiting email(s) canceled)" if canceled else ""),
                        subject=("lead", o.lead_id), campaign_id=campaign_id)
    if added:
        emit("lead.unsubscribed", {"lead_id": o.lead_id, "outreach_id": o.id,
                                   "campaign_id": campaign_id, "email": address})
    db.session.flush()
    return added
