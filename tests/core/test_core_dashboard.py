"""The dashboard: counts by status, attention strip, and the live activity feed."""

import re
from datetime import timedelta

from app import activity
from app.activity import SYSTEM, Actor
from app.blueprints.dashboard.filters import initials
from app.dashboard import queries as dashboard
from app.extensions import db
from app.models import Audit, AuditStatus, Campaign, Lead, LeadStatus, Run, RunStatus
from app.models.base import utcnow


def _seed():
    camp = Campaign(name="Dentists Leeds", slug="dentists-leeds")
    db.session.add(camp)
    db.session.flush()
    statuses = [LeadStatus.NEW] * 3 + [LeadStatus.AUDITED] * 2 + [LeadStatus.WON]
    leads = []
    for i, st in enumerate(statuses):
        lead = Lead(campaign_id=camp.id, business_name=f"Biz {i}", status=st,
                    domain=f"b{i}.example")
        db.session.add(lead)
        leads.append(lead)
    db.session.flush()
    db.session.add(Audit(lead_id=leads[0].id, url="https://b0.example",
                         status=AuditStatus.SUCCEEDED))
    db.session.add(Audit(lead_id=leads[1].id, url="https://b1.example", status=AuditStatus.FAILED))
    now = utcnow()
    # Audits are the runs people follow; internal jobs (noop) stay out of their figures.
    db.session.add_all([
        Run(kind="audit", status=RunStatus.SUCCEEDED, finished_at=now),
        Run(kind="audit", status=RunStatus.FAILED, finished_at=now - timedelta(hours=1)),
        Run(kind="audit", status=RunStatus.DEAD, finished_at=now - timedelta(days=3)),
        Run(kind="audit", status=RunStatus.PENDING, created_at=now - timedelta(hours=1)),
        Run(kind="noop", status=RunStatus.FAILED, finished_at=now - timedelta(hours=1)),
    ])
    db.session.commit()


def test_summary_counts_and_segments(app):
    _seed()
    s = dashboard.summary()
    assert s["leads"].total == 6 and s["leads"].count("new") == 3 and s["leads"].count("won") == 1
    assert [seg.status for seg in s["leads"].segments] == ["new", "audited", "won"]  # flow order
    assert abs(sum(seg.width for seg in s["leads"].segments) - 100) < 0.01
    assert s["audits"].count("failed") == 1 and s["runs"].total == 4
    assert s["runs"].count("failed") == 2  # a dead run failed too (after its retries)
    att = dashboard.attention()
    assert att == {"failed_runs": 1, "waiting_runs": 1, "hours": 24}


def test_dashboard_page_shows_counts_and_feed(client, auth):
    user = auth.login("member")
    _seed()
    activity.record(Actor.of_user(user), "lead.import", "imported 6 leads into Dentists Leeds")
    db.session.commit()
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    leads_card = re.search(r'id="stat-leads".*?</section>', html, re.S).group(0)
    assert '<span class="value">6</span>' in leads_card and "new <strong>3</strong>" in leads_card
    assert 'class="seg seg-audited"' in leads_card
    assert "1 run failed in the last 24 h" in html and "waiting over 15 min" in html
    assert "imported 6 leads into Dentists Leeds" in html
    assert 'hx-trigger="every 5s"' in html and "data-poll-visible" in html


def test_htmx_poll_returns_only_the_live_block(client, auth):
    auth.login("member")
    resp = client.get("/", headers={"HX-Request": "true"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and body.lstrip().startswith('<div id="live"')
    assert "<html" not in body and "HX-Request" in resp.headers.get("Vary", "")
    # a change shows up on the next poll
    activity.record(SYSTEM, "note", "changed something visible")
    db.session.commit()
    again = client.get("/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "changed something visible" in again


def test_feed_pages_back_with_before(client, auth):
    user = auth.login("admin")
    for i in range(45):
        activity.record(Actor.of_user(user), "note", f"event number {i:02d}",
                        subject=("user", user.id))
    db.session.commit()
    first = client.get("/").get_data(as_text=True)
    assert "event number 44" in first and "event number 20" not in first
    assert "Older activity" in first and f'href="/users/{user.id}"' in first  # admins get links
    older = dashboard.feed()[-1][0].id
    page = client.get(f"/activity?before={older}", headers={"HX-Request": "true"})
    text = page.get_data(as_text=True)
    assert "event number 24" in text and "event number 25" not in text and "Show older" in text
    assert "<html" not in text
    assert client.get("/activity?before=1").status_code == 200


def test_initials():
    assert initials("Ann Lee") == "AL"
    assert initials("bob@example.com") == "BO"
    assert initials(None) == "⚙"


def test_member_feed_hides_user_links(client, auth):
    user = auth.login("member")
    activity.record(Actor.of_user(user), "user.login", "signed in", subject=("user", user.id))
    db.session.commit()
    assert f'href="/users/{user.id}"' not in client.get("/").get_data(as_text=True)
