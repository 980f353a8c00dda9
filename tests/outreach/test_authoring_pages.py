"""The outreach pages through the real app: queue, draft page, templates editor and its
preview, bulk drafting, approval from the page, a lead's messages."""

from __future__ import annotations

import authoring_support as f
import pytest

from app.activity import SYSTEM
from app.extensions import db
from app.models import Outreach, OutreachStatus, TemplateVariant
from app.outreach import operations as ops

OS = OutreachStatus


@pytest.fixture
def setup(app, auth):
    user = auth.login(role="member")
    f.agency()
    camp = f.campaign()
    db.session.commit()
    return user, camp


def test_queue_shows_the_draft_beside_its_audit_and_approves(client, setup):
    _user, camp = setup
    lead = f.lead(camp)
    msg = ops.draft_for_lead(lead, actor=SYSTEM)
    db.session.commit()
    page = client.get(f"/outreach/?campaign={camp.slug}").get_data(as_text=True)
    assert "Smile Dental: your website scored F" in page
    assert "The site has no HTTPS" in page and "published" in page
    assert f"/audits/{lead.latest_audit_id}" in page
    resp = client.post(f"/outreach/{msg.id}/approve")
    assert resp.status_code == 303
    db.session.refresh(msg)
    assert msg.status == OS.APPROVED


def test_the_page_says_why_nothing_can_be_approved(client, setup):
    _user, camp = setup
    f.agency(postal="")
    msg = ops.draft_for_lead(f.lead(camp), actor=SYSTEM)
    db.session.commit()
    page = client.get("/outreach/").get_data(as_text=True)
    assert "No postal address" in page
    client.post(f"/outreach/{msg.id}/approve")
    db.session.refresh(msg)
    assert msg.status == OS.PENDING_APPROVAL
    assert "Not approved: No postal address" in client.get("/outreach/").get_data(as_text=True)


def test_editing_a_draft_and_header_injection_on_the_page(client, setup):
    _user, camp = setup
    msg = ops.draft_for_lead(f.lead(camp), actor=SYSTEM)
    db.session.commit()
    bad = client.post(f"/outreach/{msg.id}", data={"subject": "Hi%0d%0aBcc: x@example.com",
                                                  "body": "b"})
    assert bad.status_code == 422 and "header injection" in bad.get_data(as_text=True)
    ok = client.post(f"/outreach/{msg.id}", data={"subject": "Hello", "body": "New body"})
    assert ok.status_code == 303
    db.session.refresh(msg)
    assert (msg.subject, msg.body) == ("Hello", "New body")


def test_template_editor_refuses_unknown_fields_and_previews_for_a_lead(client, setup):
    _user, camp = setup
    lead = f.lead(camp, contact=None)
    db.session.commit()
    url = f"/outreach/campaigns/{camp.slug}/templates?step=1&variant=standard"
    page = client.get(url).get_data(as_text=True)
    assert "business_name" in page and "top_findings" in page  # the list of fields
    bad = client.post(url, data={"subject": "Hi {{ nme }}", "body": "x"})
    assert bad.status_code == 422 and "unknown field nme" in bad.get_data(as_text=True)
    syntax = client.post(url, data={"subject": "Hi", "body": "{% if grade %}"})
    assert "syntax error on line 1" in syntax.get_data(as_text=True)
    no_link = client.post(url, data={"subject": "Hi", "body": "Hello {{ business_name }}"})
    assert "must include {{ audit_link }}" in no_link.get_data(as_text=True)
    preview = client.post(f"/outreach/campaigns/{camp.slug}/templates/preview",
                          data={"subject": "For {{ business_name }}",
                                "body": "Dear {{ contact_name }}, grade {{ grade }}",
                                "lead": str(lead.id)}, headers={"HX-Request": "true"})
    text = preview.get_data(as_text=True)
    assert "For Smile Dental" in text and "grade F" in text
    assert "Missing for Smile Dental" in text and "contact_name" in text
    saved = client.post(f"/outreach/campaigns/{camp.slug}/templates?step=2&variant=site_down",
                        data={"subject": "Still down?",
                              "body": "{{ site_down_problem }} {{ audit_link }}"})
    assert saved.status_code == 303
    from app.outreach.queries import get_template
    assert get_template(camp.id, 2, TemplateVariant.SITE_DOWN).subject == "Still down?"


def test_bulk_draft_lists_leads_without_email(client, setup):
    _user, camp = setup
    f.lead(camp, "Has Mail", email="h@mail.example")
    f.lead(camp, "No Mail Bakery", email=None)
    db.session.commit()
    page = client.post(f"/outreach/campaigns/{camp.slug}/draft").get_data(as_text=True)
    assert "1 drafted, 1 without an email address" in page
    assert "No Mail Bakery" in page


def test_bulk_approve_from_the_queue(client, setup):
    _user, camp = setup
    ids = [ops.draft_for_lead(f.lead(camp, f"L{i}", email=f"a{i}@l{i}.example"),
                              actor=SYSTEM).id for i in range(3)]
    db.session.commit()
    resp = client.post("/outreach/bulk", data={"action": "approve", "ids": ids[:2]})
    assert resp.status_code == 303
    statuses = [db.session.get(Outreach, i).status for i in ids]
    assert statuses == [OS.APPROVED, OS.APPROVED, OS.PENDING_APPROVAL]
    assert client.post("/outreach/bulk", data={"action": "approve",
                                               "ids": ["99999999999999999999"]}).status_code == 303


def test_lead_page_lists_messages_and_drafts_one(client, setup):
    _user, camp = setup
    lead = f.lead(camp)
    db.session.commit()
    resp = client.post(f"/outreach/leads/{lead.id}/draft")
    assert resp.status_code == 303 and "/outreach/" in resp.headers["Location"]
    frag = client.get(f"/outreach/leads/{lead.id}/messages",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "your website scored F" in frag and "pending approval" in frag
    assert f"/outreach/leads/{lead.id}/messages" in client.get(f"/leads/{lead.id}").get_data(
        as_text=True)
    again = client.post(f"/outreach/leads/{lead.id}/draft", follow_redirects=True)
    assert "already has a message on its way" in again.get_data(as_text=True)


def test_outreach_pages_need_a_login(client, app):
    for url in ("/outreach/", "/do-not-contact/"):
        assert client.get(url).status_code in (302, 401)


def test_actions_never_redirect_off_site_and_bad_ids_are_4xx(client, setup):
    _user, camp = setup
    msg = ops.draft_for_lead(f.lead(camp), actor=SYSTEM)
    db.session.commit()
    evil = {"Referer": "https://evil.example/outreach/"}
    resp = client.post("/outreach/bulk", data={"action": "reject", "ids": [msg.id]},
                       headers=evil)
    assert resp.status_code == 303 and resp.headers["Location"] == "/outreach/"
    resp = client.post(f"/outreach/{msg.id}/approve", headers=evil)
    assert resp.headers["Location"] == f"/outreach/{msg.id}"
    for url in ("/outreach/99999999999999999999", "/outreach/leads/99999999999999999999/messages",
                "/outreach/campaigns/nope/templates"):
        assert client.get(url).status_code == 404
    assert client.get("/outreach/?before=-1").status_code == 422
    assert client.get(f"/outreach/campaigns/{camp.slug}/templates?step=9").status_code == 422
