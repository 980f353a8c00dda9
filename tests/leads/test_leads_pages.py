"""One lead: add, edit, page contents, status moves, export of a filtered view, escaping."""

import csv
import io

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Activity,
    Audit,
    AuditStatus,
    BlacklistEntry,
    BlacklistKind,
    Lead,
)
from app.models.base import utcnow

EVIL = '<script>alert("x")</script>'


def test_add_a_lead_by_hand(client, auth, campaign):
    auth.login(role="member")
    assert client.get("/campaigns/dentists/leads/new").status_code == 200
    resp = client.post(
        "/campaigns/dentists/leads/new",
        data={
            "business_name": EVIL,
            "website_url": "WWW.Smile-Dental.co.uk",
            "email": "Info@Smile.example",
            "city": "Leeds",
            "notes": "Ask for Ann",
        },
    )
    assert resp.status_code == 302
    lead = db.session.scalar(sa.select(Lead))
    assert (
        lead.domain == "smile-dental.co.uk" and lead.website_url == "http://www.smile-dental.co.uk/"
    )
    assert lead.email == "info@smile.example" and lead.source == "manual"
    page = client.get(resp.headers["Location"]).data.decode()
    assert EVIL not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "Ask for Ann" in page and "added lead" in page
    assert EVIL not in client.get("/").data.decode()  # dashboard feed
    assert EVIL not in client.get("/campaigns/dentists/leads").data.decode()


def test_lead_form_errors(client, auth, campaign, add_leads):
    auth.login()
    add_leads(campaign, 1, email="taken@biz.example")
    cases = [
        ({"website_url": ""}, "This field is required"),
        ({"website_url": "ftp://x.example"}, "unsupported scheme"),
        ({"website_url": "ok.example", "email": "nope"}, "is not valid"),
        ({"website_url": "http://www.biz0.example.com/x"}, "already in the campaign"),
        ({"website_url": "new.example", "email": "TAKEN@biz.example"}, "already in the campaign"),
    ]
    for data, message in cases:
        resp = client.post("/campaigns/dentists/leads/new", data=data)
        assert resp.status_code == 422 and message in resp.data.decode(), data
    db.session.add(BlacklistEntry(kind=BlacklistKind.DOMAIN, value="blocked.example"))
    db.session.commit()
    resp = client.post(
        "/campaigns/dentists/leads/new", data={"website_url": "https://blocked.example"}
    )
    assert resp.status_code == 422 and "do-not-contact" in resp.data.decode()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 1


def test_edit_a_lead(client, auth, campaign, add_leads):
    auth.login()
    lead_id = add_leads(campaign, 1)[0]
    resp = client.get(f"/leads/{lead_id}/edit")
    assert b'value="http://biz0.example.com/"' in resp.data
    resp = client.post(
        f"/leads/{lead_id}/edit",
        data={"business_name": "Renamed", "website_url": "renamed.example", "phone": "+44 1"},
    )
    assert resp.status_code == 302
    lead = db.session.get(Lead, lead_id)
    assert (lead.business_name, lead.domain, lead.phone) == ("Renamed", "renamed.example", "+44 1")
    # search index follows the edit
    assert b"Renamed" in client.get("/campaigns/dentists/leads?q=renamed").data
    assert b"Renamed" not in client.get("/campaigns/dentists/leads?q=biz0").data


def test_lead_page_shows_audits_and_activity(client, auth, campaign, add_leads):
    auth.login()
    lead_id = add_leads(campaign, 1, status="audited", score=71)[0]
    for score in (40, 55, 71):
        db.session.add(
            Audit(
                lead_id=lead_id,
                status=AuditStatus.SUCCEEDED,
                url="http://biz0.example.com/",
                score=score,
                created_at=utcnow(),
            )
        )
    db.session.add(
        Activity(verb="x", summary=f"noted {EVIL}", subject_type="lead", subject_id=lead_id)
    )
    db.session.commit()
    page = client.get(f"/leads/{lead_id}").data.decode()
    assert 'class="sparkline"' in page and "Score over time: 40, 55, 71" in page
    assert f"noted {EVIL}" not in page and EVIL not in page
    # The lead's emails are loaded from outreach (issue 12) into their own card.
    assert f'hx-get="/outreach/leads/{lead_id}/messages"' in page
    assert "noted &lt;script&gt;" in page
    assert client.get("/leads/999999").status_code == 404


def test_status_moves_follow_the_pipeline(client, auth, campaign, add_leads):
    auth.login(role="member")
    lead_id = add_leads(campaign, 1)[0]
    page = client.get(f"/leads/{lead_id}").data.decode()
    # No default target: a placeholder first, nothing pre-selected; only the sales stages
    # and do-not-contact are offered (audits and outreach set the others).
    assert '<option selected value="">Move to…</option>' in page or (
        '<option value="">Move to…</option>' in page and "selected" not in page.split(
            'name="status"')[1].split("</select>")[0])
    for offered in ("contacted", "replied", "meeting", "won", "lost", "unsubscribed"):
        assert f'<option value="{offered}">' in page
    for refused in ("new", "queued", "audited", "audit_failed", "drafted", "approved"):
        assert f'<option value="{refused}">' not in page
    # A prospect phoned before any audit can be marked contacted, then meeting, then won.
    for status in ("contacted", "meeting", "won"):
        resp = client.post(f"/leads/{lead_id}/status", data={"status": status})
        assert resp.status_code == 302
        assert db.session.get(Lead, lead_id).status.value == status
    for status, message in (
        ("queued", "Leads become queued through audits, not by hand"),
        ("audited", "Leads become audited through audits, not by hand"),
        ("drafted", "Leads become drafted through outreach"),
        ("new", "cannot be moved back to new by hand"),
        ("won", "This lead is already won."),
        ("", "Choose where to move the lead."),
        ("nonsense", "Choose a status."),
    ):
        resp = client.post(f"/leads/{lead_id}/status", data={"status": status},
                           follow_redirects=True)
        assert message in resp.data.decode(), status
    assert db.session.get(Lead, lead_id).status.value == "won"
    resp = client.post(f"/leads/{lead_id}/status", data={"status": "lost", "reason": "closed down"})
    assert resp.status_code == 302
    lead = db.session.get(Lead, lead_id)
    assert lead.status.value == "lost" and lead.status_reason == "closed down"
    feed = db.session.scalars(
        sa.select(Activity.summary).where(Activity.verb == "lead.status").order_by(Activity.id)
    ).all()
    assert feed[-1] == "moved lead Biz 00000 from won to lost" and len(feed) == 4


def test_only_an_admin_takes_a_lead_off_do_not_contact(client, auth, campaign, add_leads):
    auth.login(role="member")
    lead_id = add_leads(campaign, 1, email="boss@biz0.example.com")[0]
    client.post(f"/leads/{lead_id}/status", data={"status": "blacklisted"})
    assert db.session.get(Lead, lead_id).status.value == "blacklisted"
    # Blacklisting one lead puts it on the do-not-contact list, as the bulk action does.
    entries = sorted(db.session.scalars(sa.select(BlacklistEntry.value)))
    assert entries == ["biz0.example.com", "boss@biz0.example.com"]
    page = client.get(f"/leads/{lead_id}").data.decode()
    assert "Only an admin can take this lead off the do-not-contact list." in page
    assert "Take off the do-not-contact list" not in page
    assert '<option value="contacted">' not in page and '<option value="unsubscribed">' in page
    for url, data in ((f"/leads/{lead_id}/status", {"status": "contacted"}),
                      (f"/leads/{lead_id}/release", {})):
        resp = client.post(url, data=data)
        assert resp.status_code == 403, url
        assert b"only an admin can take it off the do-not-contact list" in resp.data.lower()
    assert db.session.get(Lead, lead_id).status.value == "blacklisted"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BlacklistEntry)) == 2

    auth.logout()
    auth.login(role="admin")
    page = client.get(f"/leads/{lead_id}").data.decode()
    assert "Take off the do-not-contact list" in page and '<option value="contacted">' in page
    resp = client.post(f"/leads/{lead_id}/release", follow_redirects=True)
    assert "taken off the do-not-contact list: it is new again" in resp.data.decode()
    lead = db.session.get(Lead, lead_id)
    assert lead.status.value == "new"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BlacklistEntry)) == 0
    # An admin may also move an unsubscribed lead straight to a sales stage.
    client.post(f"/leads/{lead_id}/status", data={"status": "unsubscribed"})
    resp = client.post(f"/leads/{lead_id}/status", data={"status": "replied"})
    assert resp.status_code == 302 and db.session.get(Lead, lead_id).status.value == "replied"


def test_export_a_filtered_view_neutralises_formulas(client, auth, campaign, add_leads):
    auth.login()
    add_leads(
        campaign,
        3,
        prefix="leeds",
        city="Leeds",
        business_name=lambda i: ["=1+1", "@SUM(A1)", "Plain"][i],
        notes="-2\tx",
    )
    add_leads(campaign, 2, prefix="york", city="York")
    resp = client.get("/campaigns/dentists/leads.csv?city=Leeds")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["business_name", "website", "domain", "email"]
    assert [r[0] for r in rows[1:]] == ["'=1+1", "'@SUM(A1)", "Plain"]
    assert {r[12] for r in rows[1:]} == {"'-2\tx"}
    full = client.get("/campaigns/dentists/leads.csv").data.decode("utf-8-sig")
    assert len(full.strip().splitlines()) == 6
