"""Issue 8 §4 in the app: a lead whose site is down for every visitor gets a finished audit
of kind *site down* (screenshots, evidence, no score), shows *site down* as its audit
outcome, gets the highest opportunity and its own filter on the leads list. Real engine and
Chromium, loopback fixture site."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.activity import SYSTEM
from app.audits import operations
from app.extensions import db
from app.jobs import runs
from app.models import (
    Activity,
    Audit,
    AuditStatus,
    Campaign,
    Lead,
    LeadStatus,
    Run,
    RunStatus,
    StoredFile,
)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _audit(lead: Lead) -> str:
    run_id = operations.request_audit(lead, SYSTEM).id
    db.session.commit()
    return runs.execute(run_id)


@pytest.mark.browser  # the real engine launches Chromium
def test_a_dead_site_is_a_site_down_lead(app, client, auth, fresh_site, make_lead):
    fresh_site.down = True
    lead = make_lead(fresh_site.url("/"))
    assert _audit(lead) == "succeeded"  # a finished audit, not a failed run
    db.session.expire_all()
    run = db.session.scalar(select(Run).where(Run.subject_id == lead.id))
    assert run.status == RunStatus.SUCCEEDED and run.attempt == 1
    assert run.result["site_down"] == "http_status" and run.result["score"] is None
    audit = db.session.scalar(select(Audit).where(Audit.run_id == run.id))
    assert audit.status == AuditStatus.SITE_DOWN and audit.error_code is None
    assert audit.score is None and audit.opportunity == 100 and audit.http_status == 500
    assert audit.snapshot["status"] == "site_down" and audit.snapshot["scores"] is None
    assert audit.snapshot["site_down"]["evidence"]["status"] == 500
    assert {"desktop-viewport.jpg", "mobile-viewport.jpg"} <= set(audit.screenshots)
    assert _count(StoredFile, StoredFile.owner_id == audit.id) == len(audit.screenshots)
    lead = db.session.get(Lead, lead.id)
    assert lead.status == LeadStatus.AUDITED and lead.site_down is True
    assert (lead.score, lead.opportunity, lead.latest_audit_id) == (None, 100, audit.id)
    feed = db.session.scalars(select(Activity.summary).where(
        Activity.verb == "audit.finished", Activity.subject_id == lead.id)).all()
    assert len(feed) == 1 and "site down" in feed[0] and "HTTP 500" in feed[0]

    auth.login(role="member")
    panel = client.get(f"/leads/{lead.id}/audit-panel").get_data(as_text=True)
    assert "Site down" in panel and "shows an error page" in panel and "Re-audit" in panel
    html = client.get(f"/audits/{audit.id}").get_data(as_text=True)
    assert 'data-site-down="http_status"' in html and "HTTP 500 Internal Server Error" in html
    assert "Overall score" not in html and "The audit could not run" not in html
    for ff in ("desktop", "mobile"):
        src = re.search(rf'<img src="(/files/audits/{audit.id}/{ff}-viewport\.jpg)"', html)
        assert src, ff
        img = client.get(src.group(1))
        assert img.status_code == 200 and img.mimetype == "image/jpeg"
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "site down" in page

    # The site comes back: the next audit scores it and the lead is no longer site down.
    fresh_site.down = False
    assert _audit(db.session.get(Lead, lead.id)) == "succeeded"
    db.session.expire_all()
    lead = db.session.get(Lead, lead.id)
    assert lead.site_down is False and isinstance(lead.score, int) and lead.opportunity < 100
    history = client.get(f"/leads/{lead.id}/audits").get_data(as_text=True)
    assert "site down" in history and "first audit" in history


def test_leads_list_filters_site_down(app, client, auth, make_lead):
    down = make_lead("https://gone.example/", business_name="Gone Bakery")
    up = Lead(campaign_id=down.campaign_id, business_name="Open Bakery",
              website_url="https://open.example/", domain="open.example")
    db.session.add(up)
    down.site_down, down.opportunity, down.status = True, 100, LeadStatus.AUDITED
    db.session.commit()
    slug = db.session.get(Campaign, down.campaign_id).slug
    auth.login(role="member")
    every = client.get(f"/campaigns/{slug}/leads").get_data(as_text=True)
    assert "Gone Bakery" in every and "Open Bakery" in every
    assert 'name="site_down"' in every and "site down" in every
    only_down = client.get(f"/campaigns/{slug}/leads?site_down=yes").get_data(as_text=True)
    assert "Gone Bakery" in only_down and "Open Bakery" not in only_down
    only_up = client.get(f"/campaigns/{slug}/leads?site_down=no").get_data(as_text=True)
    assert "Gone Bakery" not in only_up and "Open Bakery" in only_up
    # The filter is kept in the export link, like every other filter.
    assert re.search(r'id="export-link" href="[^"]*leads\.csv\?[^"]*site_down=yes', only_down)
