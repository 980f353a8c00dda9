"""Done when (issue 10), in a real browser: a new user audits a lead (the real engine on a
loopback site), previews, publishes, copies the link, opens it in a phone-sized browser
without being signed in, downloads the PDF, sees the view appear live in the dashboard,
revokes the link and sees it die. Screenshots go to $PITCHFAST_SCREENSHOTS when set."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from publichelpers import PHONE_UA, agency
from sqlalchemy import select

from app.extensions import db
from app.models import Campaign, Lead, PublicLink

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("PITCHFAST_SCREENSHOTS")


@pytest.fixture
def app_config(app_config: dict[str, Any], site: Any) -> dict[str, Any]:
    return {**app_config, "AUDIT_ALLOW_TARGETS": [site.target], "AUDIT_TIMEOUT_SECONDS": 60}


@pytest.fixture
def engine_closed(app: Any) -> Any:
    yield
    from app.audits.engine import config_from_mapping, get_engine

    get_engine(config_from_mapping(app.config)).close()


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_audit_preview_publish_open_pdf_view_revoke(app, live_server, browser, create_user,
                                                     drain, site, engine_closed, tmp_path):
    app.config["PUBLIC_BASE_URL"] = live_server  # the links staff copy point here
    agency()
    email = create_user(role="member").email
    campaign = Campaign(name="Dentists in Austin", slug="dentists-austin", niche="dentists")
    db.session.add(campaign)
    db.session.flush()
    lead = Lead(campaign_id=campaign.id, business_name="Austin Smiles Dental",
                website_url=site.url("/"), domain=site.target, city="Austin")
    db.session.add(lead)
    db.session.commit()
    lead_id = lead.id
    db.session.rollback()  # SQLite: never hold the write lock while the live server serves

    staff = browser.new_context(viewport={"width": 1366, "height": 900})
    staff.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = staff.new_page()
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)

    # Audit the lead (the real engine, through the queue).
    page.goto(f"{live_server}/leads/{lead_id}")
    page.click("[data-audit-button]")
    page.wait_for_selector(".audit-live")
    db.session.commit()
    assert drain() == 1
    audit_id = db.session.get(Lead, lead_id).latest_audit_id
    db.session.rollback()
    assert audit_id

    # Preview from the audit page: the exact page, not yet public.
    page.goto(f"{live_server}/audits/{audit_id}")
    expect(page.locator("#share-panel")).to_contain_text("Not published")
    with staff.expect_page() as popup:
        page.click("#share-panel >> text=Preview")
    preview = popup.value
    preview.wait_for_load_state()
    expect(preview.locator("h1")).to_have_text("Austin Smiles Dental")
    expect(preview.locator(".pp-preview")).to_be_visible()
    preview.close()

    # Publish (one click) and copy the link.
    page.click("#share-panel button:has-text('Publish')")
    expect(page.locator("#share-panel")).to_contain_text("Live")
    url = page.input_value("#share-url-input")
    assert url.startswith(f"{live_server}/r/") and len(url.rsplit("/", 1)[1]) == 43
    page.click("#share-panel [data-copy]")
    expect(page.locator("#share-panel [data-copy]")).to_have_text("Copied")
    shot(page, "flow-1-audit-page-published")
    db.session.commit()
    assert drain() == 1  # the PDF run
    db.session.rollback()

    # The prospect: a phone, not signed in.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, user_agent=PHONE_UA,
                                java_script_enabled=False, is_mobile=True, accept_downloads=True)
    prospect = phone.new_page()
    assert prospect.goto(url).status == 200
    expect(prospect.locator("h1")).to_have_text("Austin Smiles Dental")
    expect(prospect.locator("#problems")).to_be_visible()
    shot(prospect, "flow-2-prospect-phone")
    with prospect.expect_download() as download:
        prospect.click("text=Download this review as a PDF")
    pdf = tmp_path / "review.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")

    # The view appears live in the dashboard (it polls), and the lead is a hot lead.
    page.goto(f"{live_server}/")
    expect(page.locator("#live")).to_contain_text(
        "Prospect opened the Austin Smiles Dental audit page for the first time: hot lead",
        timeout=20_000)
    shot(page, "flow-3-dashboard")
    page.goto(f"{live_server}/leads/{lead_id}")
    expect(page.locator("#share-panel")).to_contain_text("Hot lead")
    expect(page.locator("#share-panel [data-views]")).to_have_text("1")
    if SHOTS:
        page.set_viewport_size({"width": 390, "height": 844})
        page.locator("#share-panel").screenshot(path=f"{SHOTS}/flow-4-share-panel-390.png")
        page.set_viewport_size({"width": 1366, "height": 900})

    # Revoke; the prospect's link dies.
    page.click("#share-panel button:has-text('Revoke')")
    expect(page.locator("#share-panel")).to_contain_text("Revoked")
    assert prospect.goto(url).status == 404
    expect(prospect.locator("h1")).to_have_text("This link does not open a page")
    link = db.session.scalar(select(PublicLink).where(PublicLink.lead_id == lead_id))
    assert link.revoked_at is not None and link.view_count == 1
    db.session.rollback()
    staff.close()
    phone.close()
