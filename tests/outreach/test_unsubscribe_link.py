"""The unsubscribe link of a sent message, ``/u/<token>`` (RFC 8058), with CSRF protection
on as in production: GET only asks, POST unsubscribes with no login, cookie or token,
answers 200, and every later send to the address is refused."""

from __future__ import annotations

from typing import Any

import pytest
from deliveryhelpers import SmtpServer, approved_message
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Activity,
    BlacklistEntry,
    BlacklistReason,
    Lead,
    LeadStatus,
    Outreach,
    OutreachStatus,
)
from app.outreach import unsubscribe

OS = OutreachStatus


@pytest.fixture
def app_config(app_config: dict[str, Any], smtp: SmtpServer) -> dict[str, Any]:
    return {**app_config, **smtp.config(), "WTF_CSRF_ENABLED": True,
            "PUBLIC_BASE_URL": "https://pitch.example.com"}


@pytest.fixture
def sent(app: Any, smtp: SmtpServer, drain: Any) -> tuple[Outreach, str]:
    o = approved_message()
    drain()
    smtp.wait_for(1)
    db.session.expire_all()
    o = db.session.get(Outreach, o.id)
    assert o.status == OS.SENT
    link = smtp.received[0].message["List-Unsubscribe"].strip("<>")
    return o, link.rpartition("/u/")[2]


def _reload(o: Outreach) -> Outreach:
    db.session.expire_all()
    return db.session.get(Outreach, o.id)


def test_get_only_asks(client, sent):
    o, token = sent
    resp = client.get(f"/u/{token}")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "Unsubscribe?" in page and "ana@smile.example" in page
    assert page.count("<form") == 1 and page.count("<button") == 1
    assert "Set-Cookie" not in resp.headers
    assert "form-action 'self'" in resp.headers["Content-Security-Policy"]
    assert "noindex" in resp.headers["X-Robots-Tag"]
    assert db.session.scalar(select(BlacklistEntry)) is None  # a link scanner changes nothing


def test_one_click_post_unsubscribes_without_login_cookie_or_token(app, client, sent, smtp,
                                                                   drain):
    o, token = sent
    # A message to the same address, approved before the unsubscribe, waiting to go out.
    lead = db.session.get(Lead, o.lead_id)
    other = approved_message(name="Smile Two", email="ana@smile.example",
                             camp=_campaign(lead))
    resp = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"},
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 200  # never a redirect
    assert "Set-Cookie" not in resp.headers
    assert "You're unsubscribed" in resp.get_data(as_text=True)
    entry = db.session.scalar(select(BlacklistEntry).where(
        BlacklistEntry.value == "ana@smile.example"))
    assert entry is not None and entry.reason == BlacklistReason.UNSUBSCRIBED
    assert _reload(other).status == OS.CANCELED
    assert db.session.get(Lead, o.lead_id).status == LeadStatus.UNSUBSCRIBED
    assert db.session.scalar(select(Activity).where(Activity.verb == "lead.unsubscribed"))
    # idempotent
    again = client.post(f"/u/{token}")
    assert again.status_code == 200
    assert len(db.session.scalars(select(Activity).where(
        Activity.verb == "lead.unsubscribed")).all()) == 1
    # nothing more reaches the address
    drain()
    assert len(smtp.received) == 1
    # and GET now says so
    assert "You're unsubscribed" in client.get(f"/u/{token}").get_data(as_text=True)


def _campaign(lead: Lead) -> Any:
    from app.models import Campaign

    return db.session.get(Campaign, lead.campaign_id)


def test_send_claim_refuses_an_address_unsubscribed_after_approval(app, client, sent, smtp,
                                                                   drain):
    o, token = sent
    lead = db.session.get(Lead, o.lead_id)
    # approved (and queued) to the same address; the unsubscribe arrives before the send
    later = approved_message(name="Smile Three", email="ana@smile.example",
                             camp=_campaign(lead))
    from app.outreach import pacing

    pacing.dispatch()
    assert _reload(later).status == OS.QUEUED
    assert client.post(f"/u/{token}").status_code == 200
    connections = smtp.connections
    drain()
    assert _reload(later).status == OS.CANCELED
    assert smtp.connections == connections and len(smtp.received) == 1


@pytest.mark.parametrize("token", ["A" * 43, "short", "x" * 43 + "%0d%0a", "../../etc"])
def test_unknown_tokens_are_404_for_both_methods(client, sent, token):
    assert client.get(f"/u/{token}").status_code == 404
    assert client.post(f"/u/{token}").status_code == 404
    assert unsubscribe.outreach_for_token(token) is None
    assert db.session.scalar(select(BlacklistEntry)) is None


def test_lookups_by_address_use_their_indexes(app, sent):
    """outreach(recipient, status) and leads(email) exist (migration 0014 and the models)
    and the unsubscribe path's lookups use them (SQLite's plan)."""
    from sqlalchemy import inspect, text

    insp = inspect(db.session.connection())
    assert {"ix_outreach_recipient_status"} <= {i["name"] for i in insp.get_indexes("outreach")}
    assert {"ix_leads_email"} <= {i["name"] for i in insp.get_indexes("leads")}
    if db.engine.dialect.name == "sqlite":
        plan = " ".join(str(r[-1]) for r in db.session.execute(text(
            "EXPLAIN QUERY PLAN SELECT id FROM leads WHERE email = 'a@b.example'")))
        assert "ix_leads_email" in plan, plan
        plan = " ".join(str(r[-1]) for r in db.session.execute(text(
            "EXPLAIN QUERY PLAN SELECT id FROM outreach WHERE recipient = 'a@b.example' "
            "AND status IN ('approved', 'queued')")))
        assert "ix_outreach_recipient_status" in plan, plan
    # the unsubscribe still reaches every lead with that address
    o, _ = sent
    other = Lead(campaign_id=db.session.get_one(Lead, o.lead_id).campaign_id,
                 business_name="Same Inbox", domain="same-inbox.example",
                 email=o.recipient)
    db.session.add(other)
    db.session.flush()
    unsubscribe.unsubscribe(o)
    assert other.status == LeadStatus.UNSUBSCRIBED
    assert db.session.get_one(Lead, o.lead_id).status == LeadStatus.UNSUBSCRIBED
