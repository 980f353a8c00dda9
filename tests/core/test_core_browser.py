"""End to end in real Chromium: first-run setup → dashboard → add a member → sign out →
sign in as the member, who cannot open Users. Screenshots at 1366 and 390 px."""

import os
import tempfile
from pathlib import Path

import pytest

from app import activity
from app.activity import SYSTEM
from app.extensions import db
from app.models import Campaign, Lead, LeadStatus, Run, RunStatus

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("PITCHFAST_SHOTS") or Path(tempfile.gettempdir()) / "pitchfast-shots")
PW = "correct horse battery"




def _new_page(browser, width, errors):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status == 404 else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and "403" not in m.text and "422" not in m.text else None)
    return page


def _seed():
    """Some work in progress so the dashboard has something to show."""
    camp = Campaign(name="Dentists Leeds", slug="dentists-leeds")
    db.session.add(camp)
    db.session.flush()
    mix = [LeadStatus.NEW] * 14 + [LeadStatus.QUEUED] * 5 + [LeadStatus.AUDITED] * 9 + \
        [LeadStatus.CONTACTED] * 4 + [LeadStatus.WON] * 2 + [LeadStatus.AUDIT_FAILED] * 2
    for i, st in enumerate(mix):
        db.session.add(Lead(campaign_id=camp.id, business_name=f"Clinic {i}", status=st,
                            domain=f"clinic{i}.example"))
    for st, n in ((RunStatus.SUCCEEDED, 23), (RunStatus.RUNNING, 3), (RunStatus.PENDING, 6),
                  (RunStatus.FAILED, 1)):
        for _ in range(n):
            db.session.add(Run(kind="audit", status=st))
    activity.record(SYSTEM, "lead.import", "38 leads imported into Dentists Leeds")
    db.session.commit()
    db.session.remove()  # never hold a transaction while the server thread writes


def test_first_run_to_member_without_users_access(app, live_server, browser, image_bytes, tmp_path):
    _seed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    page = _new_page(browser, 1366, errors)

    # first visit: setup is offered; a bad form keeps what was typed and explains
    page.goto(f"{live_server}/")
    page.wait_for_url(f"{live_server}/setup")
    page.fill("input[name=name]", "Ann Lee")
    page.fill("input[name=email]", "ann@agency.example")
    page.fill("input[name=password]", PW)
    page.fill("input[name=confirm]", "something else")
    page.click("button[type=submit]")
    page.wait_for_selector("text=The passwords do not match.")
    assert page.input_value("input[name=email]") == "ann@agency.example"
    page.fill("input[name=password]", PW)
    page.fill("input[name=confirm]", PW)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    page.wait_for_selector("text=Your admin account is ready")
    assert page.inner_text("#stat-leads .value") == "36"
    assert "created the first admin account" in page.inner_text(".feed")

    # settings: agency details and a logo
    page.click("nav >> text=Settings")
    page.wait_for_url(f"{live_server}/settings/")
    page.fill("input[name=agency_name]", "Bright Pixel")
    page.fill("textarea[name=postal_address]", "12 Market Street\nLeeds LS1 6DT")
    page.fill("input[name=sender_name]", "Ann at Bright Pixel")
    page.fill("input[name=sender_address]", "not-an-address")
    page.fill("input[name=brand_colour]", "#0e7490")
    page.click("#agency-form button[type=submit]")
    page.wait_for_selector("text=is not a valid email address")
    page.fill("input[name=sender_address]", "ann@brightpixel.example")
    page.click("#agency-form button[type=submit]")
    page.wait_for_selector("text=Settings saved.")
    logo = tmp_path / "logo.png"
    logo.write_bytes(image_bytes("PNG", size=(180, 48), colour=(14, 116, 144)))
    page.set_input_files("input[name=logo]", str(logo))
    page.click("#logo-form button[type=submit]")
    page.wait_for_selector("text=Logo updated.")
    assert page.locator(".brand-logo").count() == 1
    assert "Bright Pixel" in page.inner_text(".brand")

    # users: add a member
    page.click("nav >> text=Users")
    page.wait_for_url(f"{live_server}/users/")
    page.click("text=+ Add user")
    page.fill("input[name=email]", "bob@agency.example")
    page.fill("input[name=name]", "Bob Stone")
    page.select_option("select[name=role]", "member")
    page.fill("input[name=password]", "short")
    page.click("#user-form button[type=submit]")
    page.wait_for_selector("text=Use at least 10 characters")
    page.fill("input[name=password]", "bob's long password")
    page.click("#user-form button[type=submit]")
    page.wait_for_url(f"{live_server}/users/")
    page.wait_for_selector("text=bob@agency.example can now sign in as member.")
    assert page.locator("tr", has_text="bob@agency.example").count() == 1
    page.click("text=Bob Stone")
    page.wait_for_selector("text=Reset password")
    page.screenshot(path=str(SHOTS / "user-edit-1366.png"), full_page=True)

    # look at the pages at desktop and phone widths
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for name, url in (("dashboard", "/"), ("users", "/users/"), ("settings", "/settings/")):
            page.goto(f"{live_server}{url}")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, (name, width, overflow)  # no sideways scrolling on a phone
    page.set_viewport_size({"width": 1366, "height": 900})

    # sign out, sign in as the member
    page.goto(f"{live_server}/")
    page.click("text=Sign out")
    page.wait_for_url(f"{live_server}/login")
    page.fill("input[name=email]", "bob@agency.example")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Wrong email or password.")
    page.set_viewport_size({"width": 390, "height": 800})
    page.screenshot(path=str(SHOTS / "login-error-390.png"))
    page.set_viewport_size({"width": 1366, "height": 900})
    page.fill("input[name=password]", "bob's long password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    nav = page.inner_text("nav")
    assert "Users" not in nav and "Settings" not in nav and "Runs" in nav
    resp = page.goto(f"{live_server}/users/")
    assert resp.status == 403
    assert "You do not have access to this page." in page.inner_text("body")
    assert page.goto(f"{live_server}/settings/").status == 403
    page.screenshot(path=str(SHOTS / "member-403-1366.png"))

    # the live feed picks up new activity without a reload
    page.goto(f"{live_server}/")
    with app.app_context():
        activity.record(SYSTEM, "note", "Carol approved 3 drafts")
        db.session.commit()
        db.session.remove()
    page.wait_for_selector("text=Carol approved 3 drafts", timeout=15000)
    assert errors == [], errors
