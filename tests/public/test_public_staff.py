"""Staff side: preview, publish (one click), copy again, revoke, rotate, bulk publish;
members only; the share panel on the audit, lead and campaign pages."""

from __future__ import annotations

import re

from app.extensions import db
from app.models import PublicLink
from app.public import queries


def test_preview_publish_revoke_rotate_from_the_pages(client, auth, factory):
    auth.login("member")
    campaign = factory.campaign()
    lead = factory.lead(campaign)
    audit = factory.audit(lead)
    page = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert "Public page" in page and "Not published" in page
    preview = client.get(f"/audits/{audit.id}/preview")
    assert preview.status_code == 200 and b"Preview: this is exactly what" in preview.data
    assert "noindex" in preview.headers["X-Robots-Tag"]
    for src in re.findall(r'<img [^>]*src="([^"]+)"', preview.get_data(as_text=True)):
        assert client.get(src).status_code == 200
    resp = client.post(f"/audits/{audit.id}/publish", data={"expires": "30"})
    assert resp.status_code == 302
    link = queries.link_for_lead(lead.id)
    assert queries.is_live(link) and link.expires_at is not None
    url = queries.public_url(link)
    for path in (f"/audits/{audit.id}", f"/leads/{lead.id}"):
        html = client.get(path).get_data(as_text=True)
        assert url in html and "Copy link" in html and "Revoke" in html
    token = queries.token_for(link)
    client.post(f"/leads/{lead.id}/public/rotate")
    db.session.expire_all()
    assert queries.link_for_token(token) is None
    token = queries.token_for(db.session.get(PublicLink, link.id))
    assert queries.link_for_token(token) is not None
    client.post(f"/leads/{lead.id}/public/revoke")
    db.session.expire_all()
    assert queries.link_for_token(token) is None
    assert "Revoked" in client.get(f"/leads/{lead.id}").get_data(as_text=True)


def test_bulk_publish_from_the_campaign_page(client, auth, factory):
    auth.login("member")
    campaign = factory.campaign()
    for i in range(2):
        factory.audit(factory.lead(campaign, name=f"L{i}"))
    assert "Publish all finished audits" in client.get(f"/campaigns/{campaign.slug}").get_data(
        as_text=True)
    resp = client.post(f"/campaigns/{campaign.slug}/publish-finished", follow_redirects=True)
    assert b"Published 2 audit pages." in resp.data


def test_anonymous_cannot_publish_or_preview(client, factory):
    audit = factory.audit(factory.lead())
    assert client.post(f"/audits/{audit.id}/publish").status_code in (302, 401, 403)
    assert client.get(f"/audits/{audit.id}/preview").status_code in (302, 401, 403)
    assert queries.link_for_lead(audit.lead_id) is None


def test_publishing_an_unfinished_audit_is_refused_with_a_message(client, auth, factory):
    auth.login("member")
    audit = factory.audit(factory.lead())
    audit.status = "failed"
    db.session.commit()
    resp = client.post(f"/audits/{audit.id}/publish", follow_redirects=True)
    assert b"Only a finished audit can be published" in resp.data
