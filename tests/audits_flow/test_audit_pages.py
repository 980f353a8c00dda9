"""The audit pages and the lead panel over HTTP: access, polling and its stop, CSRF."""

from __future__ import annotations

from sqlalchemy import func, select

from app.activity import SYSTEM
from app.audits import results
from app.audits.engine.document import error_document
from app.extensions import db
from app.models import Run


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_pages_need_a_member_and_unknown_ids_404(client, auth, make_lead):
    lead = make_lead("https://a.example/")
    for url in (f"/leads/{lead.id}/audits", f"/leads/{lead.id}/audit-panel", "/audits/1"):
        assert client.get(url).status_code == 302  # to the sign-in page
    assert client.post(f"/leads/{lead.id}/audit").status_code == 302
    assert _count(Run) == 0
    auth.login(role="member")
    assert client.get("/audits/999").status_code == 404
    assert client.get("/leads/999/audit-panel").status_code == 404
    assert client.post("/leads/999/audit").status_code == 404


def test_panel_polls_while_queued_and_stops_when_done(client, auth, make_lead):
    auth.login(role="member")
    lead = make_lead("https://a.example/")
    html = client.get(f"/leads/{lead.id}/audits").get_data(as_text=True)
    assert "Audit website" in html and "hx-trigger" not in html.split('id="history"')[0]

    resp = client.post(f"/leads/{lead.id}/audit", headers={"HX-Request": "true"})
    assert resp.status_code == 200 and "audit-queued" in resp.headers["HX-Trigger"]
    panel = resp.get_data(as_text=True)
    assert panel.lstrip().startswith('<section class="card audit-panel"')  # the fragment only
    # The panel never polls itself: the page's lead poller (leads.live) does, every 2 s
    # while queued, and "audit-queued" makes it ask at once.
    assert "hx-trigger" not in panel and "Audit queued for" in panel
    assert "data-audit-button" not in panel  # no second click while queued

    poll = client.get(f"/leads/{lead.id}/audit-panel", headers={"HX-Request": "true"})
    assert poll.status_code == 200 and "Queued" in poll.get_data(as_text=True)

    # The worker finishes (saved through the same functions the job uses).
    run = db.session.scalar(select(Run).where(Run.subject_id == lead.id))
    audit = results.begin_audit(run.id, lead.id, run.payload["url"])
    doc = error_document(run.payload["url"], "tls_error", None, rubric_version="t")
    results.record_result(audit, db.session.get(type(lead), lead.id), doc, {}, SYSTEM)
    run.status = "failed"
    db.session.commit()
    done = client.get(f"/leads/{lead.id}/audit-panel", headers={"HX-Request": "true"})
    assert done.status_code == 286 and "audit-finished" in done.headers["HX-Trigger"]
    body = done.get_data(as_text=True)
    assert "hx-trigger" not in body and "secure connection" in body and "Re-audit" in body


def test_history_block_refreshes_alone(client, auth, make_lead):
    auth.login(role="member")
    lead = make_lead("https://a.example/")
    frag = client.get(f"/leads/{lead.id}/audits", headers={"HX-Request": "true"})
    body = frag.get_data(as_text=True)
    assert frag.status_code == 200
    assert body.lstrip().startswith('<section class="card" id="history"')
    assert f'<div id="lead-history-{lead.id}">' in body and "<html" not in body
