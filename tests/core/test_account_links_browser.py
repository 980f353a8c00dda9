"""The invite flow in real Chromium (issue 9, item 6): an admin invites a new user without
SMTP, copies the link shown once, and the invitee chooses a password on a phone and is
signed in; the link then no longer works. Screenshots at 1366 and 390 px."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.extensions import db

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("PITCHFAST_SHOTS") or Path(tempfile.gettempdir()) / "pitchfast-shots")
PW = "correct horse battery"


def _page(browser, width, errors, **extra):
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 500 else 844},
                                  **extra)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(page.url + " " + m.text) if m.type == "error"
            and "404" not in m.text and "422" not in m.text else None)
    return page


def _settle(page):
    expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping")).to_have_count(0)


def test_admin_invites_and_the_invitee_sets_a_password_once(app, live_server, browser,
                                                            create_user):
    SHOTS.mkdir(parents=True, exist_ok=True)
    create_user(email="ann@agency.example", role="admin")
    db.session.remove()  # no transaction open while the server thread works
    errors: list[str] = []

    page = _page(browser, 1366, errors, permissions=["clipboard-read", "clipboard-write"])
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "ann@agency.example")
    page.fill("input[name=password]", PW)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")

    page.click("nav >> text=Users")
    page.wait_for_url(f"{live_server}/users/")
    page.click("text=+ Add user")
    page.fill("input[name=email]", "Nia.Park@agency.example")
    page.fill("input[name=name]", "Nia Park")
    page.select_option("select[name=role]", "member")
    page.click("#user-form button[type=submit]")  # no password: an invite
    link_box = page.locator("input#account-link")
    expect(link_box).to_be_visible()
    _settle(page)
    url = link_box.input_value()
    assert url.startswith(f"{live_server}/invite/") and len(url.rsplit("/", 1)[1]) == 43
    expect(page.locator("h1")).to_have_text("Invite link")
    page.click("button[data-copy]")
    expect(page.locator("button[data-copy]")).to_have_text("Copied")
    page.screenshot(path=str(SHOTS / "invite-link-1366.png"), full_page=True, caret="initial")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / "invite-link-390.png"), full_page=True, caret="initial")
    page.set_viewport_size({"width": 1366, "height": 900})

    page.goto(f"{live_server}/users/")
    row = page.locator("tr", has_text="nia.park@agency.example")
    expect(row.locator(".badge-pending")).to_have_text("invited")
    row.locator("a", has_text="Nia Park").click()
    expect(page.locator("#account-link")).to_contain_text("has not chosen a password yet")
    expect(page.locator("#account-link button")).to_have_text("New invite link")
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"invite-user-{width}.png"), full_page=True,
                        caret="initial")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server}/users/")

    # the invitee, on a phone
    phone = _page(browser, 390, errors, is_mobile=True)
    phone.goto(url)
    expect(phone.locator("h1")).to_have_text("Welcome, Nia Park")
    expect(phone.locator("#link-card")).to_contain_text("nia.park@agency.example")
    phone.screenshot(path=str(SHOTS / "invite-accept-390.png"), full_page=True, caret="initial")
    phone.fill("input[name=password]", "nia park 2024")
    phone.fill("input[name=confirm]", "nia park 2024")
    phone.click("#link-card button[type=submit]")
    expect(phone.locator(".field.has-error .error")).to_contain_text("too easy to guess")
    phone.fill("input[name=password]", "plum tractor evening kettle")
    phone.fill("input[name=confirm]", "plum tractor evening kettle")
    phone.click("#link-card button[type=submit]")
    phone.wait_for_url(f"{live_server}/")
    expect(phone.locator("#flashes")).to_contain_text("Your password is set")
    phone.goto(f"{live_server}/account")
    expect(phone.locator(".page-head")).to_contain_text("nia.park@agency.example")

    # the link is used up: it looks like any unknown link
    phone.goto(url)
    expect(phone.locator("main")).to_contain_text("This link is no longer valid")
    phone.screenshot(path=str(SHOTS / "invite-used-390.png"), full_page=True, caret="initial")

    page.goto(f"{live_server}/users/")
    expect(row.locator(".badge-active")).to_have_text("active")
    assert errors == [], "\n".join(errors)
