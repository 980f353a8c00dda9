"""The whole audit slice with the real engine and Chromium on a loopback fixture site:
button → run → worker → saved audit → report page, and the refusals around it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Activity,
    Audit,
    AuditStatus,
    Finding,
    Lead,
    LeadStatus,
    Run,
    RunLog,
    RunStatus,
    StoredFile,
)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.browser  # the real engine launches Chromium
def test_audit_button_to_report_page(client, auth, drain, fresh_site, make_lead):
    auth.login(role="member")
    lead = make_lead(fresh_site.url("/"), email="owner@typed.test")
    resp = client.post(f"/leads/{lead.id}/audit", data={"next": f"/leads/{lead.id}/audits"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/leads/{lead.id}/audits")
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).status == LeadStatus.QUEUED
    run = db.session.scalar(select(Run).where(Run.subject_id == lead.id))
    assert run.kind == "audit" and run.payload == {"url": fresh_site.url("/")}

    assert drain() == 1
    db.session.expire_all()
    run = db.session.get(Run, run.id)
    assert run.status == RunStatus.SUCCEEDED, run.error
    lead = db.session.get(Lead, lead.id)
    assert lead.status == LeadStatus.AUDITED
    assert isinstance(lead.score, int) and 0 < lead.score < 100
    assert lead.email == "owner@typed.test"  # typed by a person: kept
    assert lead.phone == "5551234567"  # empty: filled from the page
    audit = db.session.get(Audit, lead.latest_audit_id)
    assert audit.status == AuditStatus.SUCCEEDED and audit.run_id == run.id
    assert audit.score == lead.score and audit.rubric_version
    assert audit.snapshot["status"] == "ok" and audit.snapshot["checks"]
    assert _count(Finding, Finding.audit_id == audit.id) == len(
        {c["id"] for c in audit.snapshot["checks"]})
    assert {"desktop-viewport.jpg", "mobile-viewport.jpg"} <= set(audit.screenshots)
    assert {s["key"] for s in audit.snapshot["screenshots"]} == {
        s["key"] for s in audit.screenshots.values()}  # the snapshot knows where images are
    assert _count(StoredFile, StoredFile.owner_type == "audit",
                  StoredFile.owner_id == audit.id) == len(audit.screenshots)

    # Phases are logged on the run with their durations.
    logs = db.session.scalars(select(RunLog.message).where(RunLog.run_id == run.id)).all()
    for phase in ("navigate", "desktop", "mobile", "checks", "screenshots", "save"):
        assert any(re.fullmatch(rf"{phase} \(\d+ ms\)", m) for m in logs), (phase, logs)

    page = client.get(f"/audits/{audit.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Rosa&#39;s Bakery" in html
    for ff in ("desktop", "mobile"):
        src = re.search(rf'<img src="(/files/audits/{audit.id}/{ff}-viewport\.jpg)"', html)
        assert src, ff
        img = client.get(src.group(1))
        assert img.status_code == 200 and img.mimetype == "image/jpeg" and len(img.data) > 1000
    failing = db.session.scalars(select(Finding).where(
        Finding.audit_id == audit.id, Finding.outcome == "fail")).all()
    assert failing
    for f in failing:
        assert f'id="check-{f.check_id}"' in html
    assert "image-alt" in html and "Evidence" in html
    assert "Metrics" in html and "Largest contentful paint" in html
    assert "hello@rosas-bakery.test" in html  # contacts found
    assert _count(Activity, Activity.verb == "audit.finished", Activity.subject_id == lead.id) == 1


@pytest.mark.browser  # the real engine launches Chromium
def test_reaudit_shows_what_changed(client, auth, drain, fresh_site, make_lead):
    auth.login(role="member")
    lead = make_lead(fresh_site.url("/"))
    client.post(f"/leads/{lead.id}/audit")
    drain()
    fresh_site.version = 2  # the owner fixed some things and broke one
    resp = client.post(f"/leads/{lead.id}/audit")
    assert resp.status_code == 302
    drain()
    db.session.expire_all()
    first, second = db.session.scalars(
        select(Audit).where(Audit.lead_id == lead.id).order_by(Audit.id)).all()
    assert second.status == AuditStatus.SUCCEEDED
    assert db.session.get(Lead, lead.id).latest_audit_id == second.id

    def outcome(audit, check_id):
        return db.session.scalar(select(Finding.outcome).where(
            Finding.audit_id == audit.id, Finding.check_id == check_id))

    assert outcome(first, "image-alt") in ("fail", "warn")
    assert outcome(second, "image-alt") == "pass"
    assert outcome(first, "html-has-lang") == "pass" and outcome(second, "html-has-lang") == "fail"
    html = client.get(f"/audits/{second.id}").get_data(as_text=True)
    assert "What changed since the previous audit" in html
    fixed = html.split('class="changes-col changes-fixed"')[1].split("</div>")[0]
    new = html.split('class="changes-col changes-new"')[1].split("</div>")[0]
    assert "image-alt" in fixed and "html-has-lang" in new
    # "What changed" speaks in titles: the raw ids are only in the links' anchors.
    visible = re.sub(r"<[^>]+>", " ", fixed + new)
    assert "image-alt" not in visible and "html-has-lang" not in visible
    assert re.search(r"\w{4,}", visible)
    history = client.get(f"/leads/{lead.id}/audits").get_data(as_text=True)
    assert f"#{first.id}" in history and f"#{second.id}" in history and "fixed" in history


def test_blocked_target_refused_before_any_run(client, auth, make_lead):
    auth.login(role="member")
    lead = make_lead("http://10.0.0.1/")
    resp = client.post(f"/leads/{lead.id}/audit", follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "10.0.0.1 is not a public address" in html
    assert _count(Run) == 0 and _count(Audit) == 0
    db.session.expire_all()
    lead = db.session.get(Lead, lead.id)
    assert lead.status == LeadStatus.NEW and lead.status_reason is None

    # The htmx button gets the panel back with the reason.
    resp = client.post(f"/leads/{lead.id}/audit", headers={"HX-Request": "true"})
    assert resp.status_code == 422 and resp.headers["HX-Trigger"].startswith('{"audit-refused"')
    assert "10.0.0.1 is not a public address" in resp.get_data(as_text=True)
    assert _count(Run) == 0
