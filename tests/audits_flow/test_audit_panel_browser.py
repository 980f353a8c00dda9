"""In a real browser against a live server: click Audit on a lead, run the queue, watch the
score appear live in the panel, then open the report (screenshots saved for review)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Lead, LeadStatus, Run

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("PITCHFAST_SCREENSHOT_DIR")


def _lead(lead_id: int) -> tuple[Any, Any]:
    db.session.expire_all()
    lead = db.session.get(Lead, lead_id)
    values = (lead.status, lead.score)
    db.session.rollback()
    return values


def _run_errors() -> list[tuple[Any, ...]]:
    rows = db.session.execute(select(Run.id, Run.status, Run.error_code, Run.error)).all()
    db.session.rollback()
    return [tuple(r) for r in rows]




def _sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def test_a_refused_audit_explains_itself_in_the_panel(app, live_server, browser, create_user,
                                                       make_lead):
    email = create_user(role="member").email
    lead_id = make_lead("http://10.0.0.1/admin").id
    db.session.rollback()
    page = browser.new_page(viewport={"width": 390, "height": 844})
    _sign_in(page, live_server, email)
    page.goto(f"{live_server}/leads/{lead_id}/audits")
    page.click("[data-audit-button]")
    notice = page.wait_for_selector(f"#audit-panel-{lead_id} .flash-error")
    assert "10.0.0.1 is not a public address" in notice.inner_text()
    assert page.locator(".audit-live").count() == 0  # nothing queued, nothing polling
    assert _lead(lead_id)[0] == LeadStatus.NEW and _run_errors() == []


def test_click_audit_and_watch_the_score_arrive(app, live_server, browser, create_user, drain,
                                                fresh_site, make_lead):
    email = create_user(role="member").email
    lead_id = make_lead(fresh_site.url("/")).id
    db.session.rollback()  # SQLite: reads begin IMMEDIATE; never hold the lock while serving
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    errors: list[str] = []

    def on_console(msg: Any) -> None:  # only our pages: others' pages are not under test here
        if msg.type == "error" and "/audits" in page.url and "favicon" not in str(msg.location):
            errors.append(f"{page.url} {msg.text} {msg.location}")

    page.on("console", on_console)
    _sign_in(page, live_server, email)

    # The lead's own page (leads feature) includes the panel; our history page does too.
    lead_page = "/leads/{}" if "leads.show" in app.view_functions else "/leads/{}/audits"
    page.goto(live_server + lead_page.format(lead_id))
    assert page.locator(f"#audit-panel-{lead_id}").inner_text().count("Not audited yet") == 1
    page.click("[data-audit-button]")
    page.wait_for_selector(".audit-live")  # queued, polling every 2 s
    assert "Queued" in page.inner_text(".audit-live")
    assert _lead(lead_id)[0] == LeadStatus.QUEUED

    assert drain() == 1  # the worker runs the audit while the page keeps polling
    status, score = _lead(lead_id)
    assert status == LeadStatus.AUDITED, _run_errors()
    tile = page.wait_for_selector("[data-score]", timeout=20_000)
    assert tile.get_attribute("data-score") == str(score)
    assert page.locator(".audit-live").count() == 0  # polling stopped
    assert page.inner_text("[data-audit-button]").strip() == "Re-audit"

    page.click("text=View full audit")
    page.wait_for_selector(".audit-report")
    assert page.inner_text(".scoreboard-overall .ring-num").strip() == str(score)
    for img in page.locator(".shot img").all():  # lazy images load once in view
        img.scroll_into_view_if_needed()
        expect(img).to_have_js_property("complete", True)
    loaded = page.eval_on_selector_all(
        ".shot img", "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)")
    assert loaded == [True, True]
    assert page.locator(".finding-fail").count() > 0
    assert not errors, errors
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/audit-1366.png", full_page=True)
        phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
        phone.context.add_cookies(page.context.cookies())
        phone.goto(page.url)
        phone.screenshot(path=f"{SHOTS}/audit-390.png", full_page=True)
        page.goto(f"{live_server}/leads/{lead_id}/audits")
        page.screenshot(path=f"{SHOTS}/lead-audits-1366.png", full_page=True)
        page.goto(f"{live_server}/leads/{lead_id}")  # the leads feature's page, if built
        page.screenshot(path=f"{SHOTS}/lead-page-1366.png", full_page=True)
        phone.goto(f"{live_server}/leads/{lead_id}")
        phone.screenshot(path=f"{SHOTS}/lead-page-390.png", full_page=True)
