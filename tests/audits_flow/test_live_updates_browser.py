"""In a real browser: every place that shows a lead's status, score or audits updates
together while the page stays open (a bulk audit on the leads list; an audit started
elsewhere and a re-audit on the lead page), and a page whose updates fail says so.
Screenshots go to PITCHFAST_SCREENSHOT_DIR when it is set."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.activity import Actor
from app.audits.operations import request_audit
from app.extensions import db
from app.models import Audit, Campaign, Lead

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("PITCHFAST_SCREENSHOT_DIR")
AUDIT_WAIT = 90_000  # ms: real audits on a busy 2-core machine


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # A lead page asks for news every second when idle (20 s in production), so a test
    # need not wait to see an audit started elsewhere.
    return {**app_config, "LIVE_POLL_IDLE_SECONDS": 1}


def _sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def _watch_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return errors


def _lead(lead_id: int) -> tuple[str, int | None, int]:
    db.session.expire_all()
    lead = db.session.get(Lead, lead_id)
    audits = db.session.scalar(select(db.func.count()).where(Audit.lead_id == lead_id))
    values = (lead.status.value, lead.score, audits)
    db.session.rollback()  # SQLite: never hold a transaction while the server serves
    return values


def _shoot(page: Any, name: str) -> None:
    if not SHOTS:
        return
    page.screenshot(path=f"{SHOTS}/{name}-1366.png", full_page=True)
    phone = page.context.browser.new_page(viewport={"width": 390, "height": 844})
    phone.context.add_cookies(page.context.cookies())
    phone.goto(page.url)
    phone.screenshot(path=f"{SHOTS}/{name}-390.png", full_page=True)
    phone.close()


def test_bulk_audit_updates_rows_and_progress_without_reload(
    app, live_server, browser, create_user, drain, fresh_site
):
    email = create_user(role="member").email
    campaign = Campaign(name="Bakeries", slug="bakeries")
    db.session.add(campaign)
    db.session.flush()
    leads = [Lead(campaign_id=campaign.id, business_name=name, domain=domain,
                  website_url=fresh_site.url(path))
             for name, domain, path in (("Rosa's Bakery", "rosa.test", "/"),
                                        ("Rosa's Cakes", "cakes.test", "/index.html"))]
    db.session.add_all(leads)
    db.session.commit()
    ids = [lead.id for lead in leads]
    db.session.rollback()

    page = browser.new_page(viewport={"width": 1366, "height": 900})
    errors = _watch_errors(page)
    _sign_in(page, live_server, email)
    page.goto(f"{live_server}/campaigns/bakeries/leads")
    page.check("input[data-select-all=ids]")
    page.select_option("select[name=action]", "audit")
    page.click("#bulk-form button[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("Queued audits for 2 leads.")
    rows = [page.locator("#results tbody tr", has_text=name)
            for name in ("Rosa's Bakery", "Rosa's Cakes")]
    for row in rows:
        expect(row.locator(".badge")).to_have_text("queued")
    expect(page.locator(".batch")).to_contain_text("2 remaining")
    # A mark only this page load has: a reload would clear it.
    page.check(f"input[name=ids][value='{ids[0]}']")

    assert drain() == 2  # the worker runs both audits while the page keeps polling
    scores = {lead_id: _lead(lead_id)[1] for lead_id in ids}
    assert all(_lead(lead_id)[0] == "audited" for lead_id in ids), scores
    expect(page.locator(".batch")).to_contain_text("complete", timeout=AUDIT_WAIT)
    expect(page.locator(".batch")).to_contain_text("2 done")
    for lead_id, row in zip(ids, rows, strict=True):  # the rows agree with the progress bar
        expect(row.locator(".badge")).to_have_text("audited")
        expect(row.locator(".score")).to_have_text(str(scores[lead_id]))
        expect(page.locator(f"#row-status-{lead_id}")).to_have_text("audited")
    expect(page.locator(f"input[name=ids][value='{ids[0]}']")).to_be_checked()  # no reload
    assert page.locator("#leads-live[hx-trigger]").count() == 0  # polling stopped (286)
    _shoot(page, "leads-after-bulk-audit")
    assert errors == [], errors


def test_lead_page_left_open_follows_audits_started_elsewhere_and_re_audits(
    app, live_server, browser, create_user, drain, fresh_site, make_lead
):
    email = create_user(role="member").email
    colleague = create_user(role="member")
    lead_id = make_lead(fresh_site.url("/")).id
    db.session.rollback()
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    errors = _watch_errors(page)
    _sign_in(page, live_server, email)
    page.goto(f"{live_server}/leads/{lead_id}")
    heading = page.locator("h1.lead-title")
    badge, score = heading.locator(".badge"), heading.locator(".score")
    panel = page.locator(f"#audit-panel-{lead_id}")
    history = page.locator("section.card", has=page.locator("h2", has_text="Audit history"))
    expect(badge).to_have_text("new")
    expect(panel).to_contain_text("Not audited yet")
    expect(history).to_contain_text(re.compile("No audits yet|Not audited yet"))

    # A colleague audits the lead (or a bulk audit includes it) while this page is open.
    request_audit(db.session.get(Lead, lead_id), Actor.of_user(colleague))
    db.session.commit()
    db.session.rollback()
    expect(badge).to_have_text("queued", timeout=15_000)
    expect(panel.locator(".audit-live")).to_be_visible()

    assert drain() == 1
    status, value, _ = _lead(lead_id)
    assert status == "audited" and value is not None
    expect(panel.locator("[data-score]")).to_have_attribute("data-score", str(value),
                                                           timeout=AUDIT_WAIT)
    # Heading, panel, history, status card and feed agree, without a reload.
    expect(badge).to_have_text("audited")
    expect(score).to_have_text(str(value))
    expect(history.locator("tbody tr")).to_have_count(1)
    expect(history.locator("tbody tr").first).to_contain_text(str(value))
    status_card = page.locator("section.card", has=page.locator("h2", has_text="Status"))
    expect(status_card).to_contain_text("audited")
    activity = page.locator("section.card", has=page.locator("h2", has_text="Activity"))
    expect(activity).to_contain_text(f"score {value}")
    assert page.locator(".audit-live").count() == 0

    # A re-audit from this page: the heading badge follows it, and back.
    page.click("[data-audit-button]")
    expect(badge).to_have_text("queued")
    assert drain() == 1
    expect(history.locator("tbody tr")).to_have_count(2, timeout=AUDIT_WAIT)
    expect(badge).to_have_text("audited")
    status, value, audits = _lead(lead_id)
    assert (status, audits) == ("audited", 2)
    expect(score).to_have_text(str(value))
    expect(page.locator(".stale-notice")).to_have_count(0)
    _shoot(page, "lead-live")
    assert errors == [], errors


def test_a_page_whose_updates_fail_says_it_is_stale(app, live_server, browser, create_user,
                                                     make_lead):
    email = create_user(role="member").email
    lead_id = make_lead("https://example.com/").id
    db.session.rollback()
    page = browser.new_page(viewport={"width": 390, "height": 844})
    _sign_in(page, live_server, email)
    page.goto(f"{live_server}/leads/{lead_id}")
    notice = page.locator(".stale-notice")
    expect(page.locator("h1.lead-title .badge")).to_have_text("new")
    expect(notice).to_have_count(0)

    # The server errors: the page says its updates are paused instead of freezing silently.
    page.route("**/leads/*/live*", lambda route: route.fulfill(status=500, body="boom"))
    expect(notice).to_be_visible(timeout=10_000)
    expect(notice).to_contain_text("Updates paused")
    expect(notice.get_by_role("button", name="Reload")).to_be_visible()
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/stale-notice-390.png")
    # The server answers again: the notice goes by itself.
    page.unroute("**/leads/*/live*")
    expect(notice).to_have_count(0, timeout=10_000)
    # The network fails (no answer at all): the same notice.
    page.route("**/leads/*/live*", lambda route: route.abort())
    expect(notice).to_be_visible(timeout=10_000)
    page.unroute("**/leads/*/live*")
    notice.get_by_role("button", name="Reload").click()
    expect(notice).to_have_count(0)
    expect(page.locator("h1.lead-title .badge")).to_have_text("new")
