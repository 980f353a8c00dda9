"""API keys in real Chromium: an admin makes a key on the keys page, copies it (shown
once), a client uses it, the page shows its last use, the admin revokes it and the next
request is refused; the reference page reads well on a desktop and a phone.
Screenshots at 1366 and 390 px go to $PITCHFAST_SHOTS (default /tmp/pitchfast-shots)."""

from __future__ import annotations

import json
import os
import tempfile
import urllib.error
import urllib.request
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


def _login(page, live_server, email):
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PW)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")


def _settle(page):
    expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping")).to_have_count(0)


def _call(live_server, key):
    req = urllib.request.Request(f"{live_server}/api/v1/campaigns",
                                 headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 (loopback)
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_admin_makes_uses_and_revokes_a_key(app, live_server, browser, create_user):
    SHOTS.mkdir(parents=True, exist_ok=True)
    create_user(email="ann@agency.example", role="admin")
    db.session.remove()
    errors: list[str] = []
    page = _page(browser, 1366, errors, permissions=["clipboard-read", "clipboard-write"])
    _login(page, live_server, "ann@agency.example")
    page.click("nav >> text=API")
    page.wait_for_url(f"{live_server}/api-keys/reference")
    page.click("text=API keys")
    page.wait_for_url(f"{live_server}/api-keys/")
    page.fill("input[name=name]", "n8n")
    page.select_option("select[name=scope]", "write")
    page.click("#api-key-form button[type=submit]")
    box = page.locator("input#api-key")
    expect(box).to_be_visible()
    _settle(page)
    key = box.input_value()
    assert key.startswith("pf_") and len(key) == 46
    page.click("button[data-copy='#api-key']")
    assert page.evaluate("navigator.clipboard.readText()") == key
    page.screenshot(path=str(SHOTS / "apikeys-created-1366.png"), full_page=True, caret="initial")

    assert _call(live_server, key)[0] == 200
    page.click("text=Done")
    page.wait_for_url(f"{live_server}/api-keys/")
    row = page.locator("#api-keys tbody tr", has_text="n8n")
    expect(row).to_contain_text("just now")
    expect(row).to_contain_text("active")
    assert key not in page.content()
    page.screenshot(path=str(SHOTS / "apikeys-list-1366.png"), full_page=True, caret="initial")

    page.once("dialog", lambda d: d.accept())
    row.locator("button", has_text="Revoke").click()
    page.wait_for_url(f"{live_server}/api-keys/")
    expect(page.locator("#api-keys tbody tr", has_text="n8n")).to_contain_text("revoked")
    status, body = _call(live_server, key)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    assert errors == []


@pytest.mark.parametrize("width", [1366, 390])
def test_reference_and_keys_pages_read_well(app, live_server, browser, create_user, width):
    SHOTS.mkdir(parents=True, exist_ok=True)
    create_user(email="ann@agency.example", role="admin")
    db.session.remove()
    errors: list[str] = []
    page = _page(browser, width, errors)
    _login(page, live_server, "ann@agency.example")
    page.goto(f"{live_server}/api-keys/reference")
    expect(page.locator("h1")).to_have_text("API reference")
    expect(page.locator(".api-op")).to_have_count(14)
    # Nothing runs off the side of a phone screen.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, overflow
    page.screenshot(path=str(SHOTS / f"api-reference-{width}.png"), full_page=width > 500,
                    caret="initial")
    page.goto(f"{live_server}/api-keys/")
    page.fill("input[name=name]", "zapier")
    page.click("#api-key-form button[type=submit]")
    expect(page.locator("input#api-key")).to_be_visible()
    page.goto(f"{live_server}/api-keys/")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.screenshot(path=str(SHOTS / f"apikeys-list-{width}.png"), full_page=True, caret="initial")
    assert errors == []
