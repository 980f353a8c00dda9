"""End to end in real Chromium: write a template with its live preview, draft for the
whole campaign (a lead without an email is listed), approve one draft beside its audit
(its public page published), see why another cannot be approved, then manage the
do-not-contact list (add, search, import, export link). Screenshots at 1366 and 390 px."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import authoring_support as f
import pytest

from app.activity import SYSTEM
from app.extensions import db
from app.models import Outreach, OutreachStatus
from app.public import operations as public_ops
from app.public.queries import link_for_lead

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("PITCHFAST_SHOTS") or Path(tempfile.gettempdir()) / "pitchfast-shots")
PW = "correct horse battery"


def _seed(create_user):
    create_user(email="ann@agency.example", role="member", password=PW)
    f.agency()
    camp = f.campaign(templates=False)
    f.lead(camp, "Smile Dental", email="ana@smile.example")
    late = f.lead(camp, "Late Smiles", email="lee@late.example", contact="Lee Park")
    public_ops.revoke(link_for_lead(late.id), actor=SYSTEM)
    f.lead(camp, "No Mail Bakery", email=None)
    f.lead(camp, "Broken Site Co", email="bo@broken.example", site_down=True)
    slug = camp.slug
    db.session.commit()
    db.session.remove()  # never hold a transaction while the server thread writes
    return slug


def _page(browser, width, errors):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(f"{page.url}: {m.text[:160]}")
            if m.type == "error" and "422" not in m.text else None)
    return page


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_template_preview_draft_approve_and_do_not_contact(app, live_server, browser,
                                                           create_user, tmp_path):
    slug = _seed(create_user)
    errors: list[str] = []
    page = _page(browser, 1366, errors)
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "ann@agency.example")
    page.fill("input[name=password]", PW)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")

    # the template editor: a typo is caught by the live preview, then fixed and saved
    page.click("nav >> text=Outreach")
    page.wait_for_url(f"{live_server}/outreach/")
    page.select_option("#ob-campaign", slug)
    page.click(".ob-campaign-pick button")
    page.wait_for_url(f"{live_server}/outreach/?campaign={slug}")
    page.click(".ob-toolbar a.btn >> text=Templates")
    page.wait_for_selector("#template-form")
    page.fill("input[name=subject]", "{{ business_name }}: your site scored {{ grade }}")
    page.fill("textarea[name=body]", "Hi {{ contact_nme }}")
    page.locator("#preview-result .flash-error").get_by_text("unknown field contact_nme").wait_for()
    page.fill("textarea[name=body]", f.BODY)
    page.select_option("#preview-lead", label="Smile Dental")
    page.locator("#preview-result").get_by_text("Filled in for Smile Dental").wait_for()
    page.locator("#preview-result").get_by_text("The site has no HTTPS").wait_for()
    page.click("#template-form button[type=submit]")
    page.wait_for_selector("text=Template saved.")
    page.click("text=First email · site down")
    page.wait_for_url("**variant=site_down")
    page.fill("input[name=subject]", f.DOWN_SUBJECT)
    page.fill("textarea[name=body]", f.DOWN_BODY)
    page.click("#template-form button[type=submit]")
    page.wait_for_selector("text=Template saved.")

    # draft the whole campaign: the lead without an email is counted and listed
    page.goto(f"{live_server}/outreach/?campaign={slug}")
    page.click("text=Draft emails for every audited lead")
    page.wait_for_selector("h1 >> text=3 drafted, 1 without an email address")
    page.wait_for_selector("text=No Mail Bakery")
    page.click("text=Review drafts")
    page.wait_for_selector("#approval-queue .ob-card")
    smile = page.locator(".ob-card", has_text="Smile Dental")
    smile.get_by_text("Smile Dental: your site scored F").wait_for()
    late = page.locator(".ob-card", has_text="Late Smiles")
    late.get_by_text("Fields without a value for this lead: audit_link").wait_for()
    assert late.locator("button", has_text="Approve").is_disabled()
    smile.locator("button", has_text="Approve").click()
    page.wait_for_selector("text=Approved the email to ana@smile.example.")
    with app.app_context():
        row = db.session.query(Outreach).filter_by(recipient="ana@smile.example").one()
        assert row.status == OutreachStatus.APPROVED and row.message_id
        late_id = db.session.query(Outreach).filter_by(recipient="lee@late.example").one().id
        smile_lead = row.lead_id
        db.session.remove()

    # the do-not-contact list: add a domain, search it, import a file
    page.click("nav >> text=Do not contact")
    page.wait_for_url(f"{live_server}/do-not-contact/")
    page.fill("input[name=value]", "@competitor.example")
    page.fill("#dnc-add input[name=note]", "a competitor")
    page.click("#dnc-add button[type=submit]")
    page.wait_for_selector("text=competitor.example is on the do-not-contact list.")
    csv_path = tmp_path / "suppress.csv"
    csv_path.write_text("email,reason\ngone@x.example,unsubscribed\nbad@@x\n")
    page.set_input_files("#dnc-import input[type=file]", str(csv_path))
    page.click("#dnc-import button[type=submit]")
    page.wait_for_selector("text=Import: 1 added, 0 already listed, 1 refused")
    page.fill("#dnc-q", "gone")
    page.locator("#dnc-entries").get_by_text("1 entry matching").wait_for()
    assert page.locator("#dnc-entries tbody tr").count() == 1
    page.fill("#dnc-q", "")
    page.locator("#dnc-entries").get_by_text("2 entries").wait_for()

    # screenshots last (a full-page capture resizes the page under htmx), on a laptop and
    # a phone: the queue, the editor previewing for a lead, the list
    for width in (1366, 390):
        shots = _page(browser, width, errors)
        shots.context.add_cookies(page.context.cookies())
        for url, name in ((f"/outreach/?campaign={slug}", "queue"),
                          (f"/outreach/campaigns/{slug}/templates", "template"),
                          ("/do-not-contact/", "dnc"), (f"/outreach/{late_id}", "draft"),
                          (f"/leads/{smile_lead}", "lead")):
            shots.goto(live_server + url)
            if name == "template":
                shots.select_option("#preview-lead", label="Smile Dental")
                shots.locator("#preview-result").get_by_text("Filled in for Smile").wait_for()
            if name == "lead":  # the lead's emails, loaded into the lead page
                card = shots.locator(f"#lead-messages-{smile_lead}")
                card.get_by_text("approved").first.wait_for()
            shots.wait_for_load_state("networkidle")
            _shot(shots, f"outreach-{name}-{width}")
    assert errors == [], "\n".join(errors)
