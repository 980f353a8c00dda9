"""Live updates over HTTP: a lead's state endpoint (204 when nothing changed, every
fragment of the lead when something did) and a list's rows endpoint (rows and progress
bar in one answer, 286 once nothing is active)."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.activity import SYSTEM
from app.audits import operations, results
from app.audits.engine.document import error_document
from app.extensions import db
from app.leads.operations import audit_leads
from app.models import Campaign, Lead, Run, RunStatus

HX = {"HX-Request": "true"}


def _version(body: str, lead_id: int) -> str:
    poller = re.search(rf'<div id="lead-live-{lead_id}"[^>]*>', body).group(0)
    return re.search(r"[?&]v=([0-9a-f]+)", poller).group(1)


def _finish(lead: Lead, score: int | None = 47) -> None:
    """The worker finishes the lead's queued audit (through the functions the job uses)."""
    run = db.session.scalar(select(Run).where(Run.subject_id == lead.id,
                                              Run.status == RunStatus.PENDING))
    audit = results.begin_audit(run.id, lead.id, run.payload["url"])
    lead = db.session.get(Lead, lead.id)
    if score is None:
        doc = error_document(run.payload["url"], "tls_error", None, rubric_version="t")
    else:
        doc = {"status": "ok", "url": run.payload["url"], "final_url": run.payload["url"],
               "scores": {"overall": score, "opportunity": 60, "seo": 30}, "checks": []}
    results.record_result(audit, lead, doc, {}, SYSTEM)
    run.status = RunStatus.SUCCEEDED if score is not None else RunStatus.FAILED
    db.session.commit()


def test_lead_state_answers_204_until_something_changes(client, auth, make_lead):
    auth.login(role="member")
    lead = make_lead("https://a.example/")
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    v = _version(page, lead.id)
    assert 'hx-trigger="every 20s, audit-queued from:body' in page
    # The page names the fragments the poll may replace, in one place.
    assert f'hx-select-oob="#lead-badge-{lead.id},#lead-score-{lead.id},#audit-panel-{lead.id}' \
        in page
    resp = client.get(f"/leads/{lead.id}/live?v={v}", headers=HX)
    assert resp.status_code == 204 and resp.get_data() == b""
    assert "HX-Request" in resp.headers["Vary"]

    # An audit started elsewhere (another user, a bulk audit): the next poll tells.
    operations.request_audit(db.session.get(Lead, lead.id), SYSTEM)
    db.session.commit()
    resp = client.get(f"/leads/{lead.id}/live?v={v}", headers=HX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith(f'<div id="lead-live-{lead.id}"')
    assert 'hx-trigger="every 2s, audit-queued from:body' in body
    for part in ("lead-badge", "lead-score", "audit-panel", "lead-trend", "lead-history",
                 "lead-status-card", "lead-feed"):
        assert f'id="{part}-{lead.id}"' in body, part
    badge = re.search(rf'<span id="lead-badge-{lead.id}".*?</span></span>', body).group(0)
    assert ">queued<" in badge and "Queued — waiting for a worker" in body
    v2 = _version(body, lead.id)
    assert v2 != v
    assert client.get(f"/leads/{lead.id}/live?v={v2}", headers=HX).status_code == 204

    _finish(lead, 47)
    body = client.get(f"/leads/{lead.id}/live?v={v2}", headers=HX).get_data(as_text=True)
    badge = re.search(rf'<span id="lead-badge-{lead.id}".*?</span></span>', body).group(0)
    assert ">audited<" in badge
    score = re.search(rf'<span id="lead-score-{lead.id}".*?</span></span>', body, re.S).group(0)
    assert ">47<" in score
    history = body.split(f'<div id="lead-history-{lead.id}">')[1].split("</table>")[0]
    assert ">47<" in history and "No audits yet" not in history
    assert 'data-score="47"' in body and 'hx-trigger="every 20s' in body


def test_lead_state_refuses_a_forged_version(client, auth, make_lead):
    auth.login(role="member")
    lead = make_lead("https://a.example/")
    assert client.get(f"/leads/{lead.id}/live?v={'x' * 65}", headers=HX).status_code == 422
    assert client.get("/leads/999999/live", headers=HX).status_code == 404
    auth.logout()
    assert client.get(f"/leads/{lead.id}/live", headers=HX).status_code == 401


def test_rows_and_progress_answer_together_and_stop_when_done(client, auth, make_lead):
    auth.login(role="member")
    lead = make_lead("https://a.example/")
    other = Lead(campaign_id=lead.campaign_id, business_name="Other", domain="other.example",
                 website_url="https://other.example/")
    db.session.add(other)
    db.session.commit()
    campaign = db.session.get(Campaign, lead.campaign_id)
    audit_leads(campaign, [lead.id, other.id], actor=SYSTEM)
    db.session.commit()

    page = client.get(f"/campaigns/{campaign.slug}/leads").get_data(as_text=True)
    assert f'<span id="row-status-{lead.id}"><span class="badge badge-queued">' in page
    poller = re.search(r'<div id="leads-live"[^>]*>', page).group(0)
    assert 'hx-trigger="load"' in poller
    url = re.search(r'hx-get="([^"]+)"', poller).group(1).replace("&amp;", "&")
    assert sorted(url.split("?")[1].split("&")) == sorted([f"ids={lead.id}", f"ids={other.id}"])

    resp = client.get(url, headers=HX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'hx-trigger="every 2s' in body
    assert '<div id="progress" class="batch-progress" hx-swap-oob="true"' in body
    assert "2 remaining" in body
    assert f'<span id="row-status-{lead.id}" hx-swap-oob="true">' in body

    _finish(lead, 47)
    body = client.get(url, headers=HX).get_data(as_text=True)
    assert "1 done" in body and "1 remaining" in body and 'hx-trigger="every 2s' in body
    _finish(other, None)
    resp = client.get(url, headers=HX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 286 and "hx-trigger" not in body
    assert "1 done" in body and "1 failed" in body and "complete" in body
    row = re.search(rf'<span id="row-status-{lead.id}".*?</span></span>', body).group(0)
    assert ">audited<" in row
    row = re.search(rf'<span id="row-score-{lead.id}".*?</span></span>', body, re.S).group(0)
    assert ">47<" in row
    row = re.search(rf'<span id="row-status-{other.id}".*?</span></span>', body).group(0)
    assert ">audit failed<" in row

    for bad in ("ids=abc", "ids=0", "&".join(f"ids={i}" for i in range(1, 102))):
        assert client.get(f"/campaigns/{campaign.slug}/leads/live?{bad}",
                          headers=HX).status_code == 422, bad
