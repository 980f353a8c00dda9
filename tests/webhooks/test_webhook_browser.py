"""The webhook pages in real Chromium: an admin registers an endpoint, copies the secret
shown once, sends a test event and watches it arrive in the delivery log (the receiver on
loopback checks the signature with the copied secret); then the same pages on a phone.
Screenshots at 1366 and 390 px."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.webhooks import signing

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("PITCHFAST_SHOTS") or Path(tempfile.gettempdir()) / "pitchfast-shots")
PW = "correct horse battery"


def _page(browser, width, errors):
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 500 else 844})
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(page.url + " " + m.text) if m.type == "error"
            and "404" not in m.text and "422" not in m.text else None)
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm asks first
    return page


def _login(page, live_server):
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "ann@agency.example")
    page.fill("input[name=password]", PW)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")


def _settle(page):
    expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping")).to_have_count(0)


def test_register_copy_the_secret_send_a_test_event(app, live_server, browser, create_user,
                                                   drain, receiver):
    SHOTS.mkdir(parents=True, exist_ok=True)
    create_user(email="ann@agency.example", role="admin")
    db.session.remove()  # no transaction open while the server thread works
    errors: list[str] = []

    page = _page(browser, 1366, errors)
    _login(page, live_server)
    page.click("nav >> text=Webhooks")
    page.wait_for_url(f"{live_server}/webhooks/")
    expect(page.locator("td.empty")).to_contain_text("No endpoints yet")
    page.click("text=+ Add endpoint")
    page.fill("input[name=url]", "http://169.254.169.254/latest/meta-data/")
    page.check("input[value='audit.finished']")
    page.click("#webhook-form button[type=submit]")
    expect(page.locator(".field.has-error .error")).to_contain_text("not a public address")
    _settle(page)
    page.screenshot(path=str(SHOTS / "webhooks-new-error-1366.png"), full_page=True,
                    caret="initial")  # Playwright's caret hiding trips the CSP

    page.fill("input[name=url]", receiver.url())
    page.fill("input[name=description]", "n8n: new audits to the CRM")
    page.click("#webhook-form button[type=submit]")
    secret_box = page.locator("input#webhook-secret")
    expect(secret_box).to_be_visible()
    _settle(page)
    secret = secret_box.input_value()
    assert secret.startswith("whsec_")
    page.screenshot(path=str(SHOTS / "webhooks-secret-1366.png"), full_page=True, caret="initial")

    page.click("text=Done")
    expect(page.locator("h1")).to_contain_text(receiver.url())
    assert secret not in page.content()  # shown once only
    page.click("button:has-text('Send test event')")
    expect(page.locator(".flash")).to_contain_text("Test event queued")
    expect(page.locator("tr[data-delivery] [data-status]")).to_have_text("pending")
    assert drain() == 1  # the worker delivers while the page polls the log
    expect(page.locator("tr[data-delivery] [data-status]")).to_have_text("delivered",
                                                                          timeout=15000)
    _settle(page)
    [got] = receiver.requests
    signing.verify_headers(secret, got.body, got.headers)  # the secret the admin copied
    page.screenshot(path=str(SHOTS / "webhooks-show-1366.png"), full_page=True, caret="initial")
    page.click("tr[data-delivery] a >> nth=0")
    expect(page.locator("pre.log").first).to_contain_text("webhook.test")
    page.screenshot(path=str(SHOTS / "webhooks-delivery-1366.png"), full_page=True, caret="initial")
    page.goto(f"{live_server}/webhooks/")
    expect(page.locator("table.webhooks")).to_contain_text("delivered")
    page.screenshot(path=str(SHOTS / "webhooks-index-1366.png"), full_page=True, caret="initial")
    page.context.close()

    phone = _page(browser, 390, errors)
    _login(phone, live_server)
    phone.goto(f"{live_server}/webhooks/")
    expect(phone.locator("table.webhooks")).to_contain_text("n8n")
    phone.screenshot(path=str(SHOTS / "webhooks-index-390.png"), full_page=True, caret="initial")
    phone.click("table.webhooks a.webhook-url")
    expect(phone.locator("tr[data-delivery]")).to_have_count(1)
    phone.screenshot(path=str(SHOTS / "webhooks-show-390.png"), full_page=True, caret="initial")
    phone.click("button:has-text('Rotate secret')")
    expect(phone.locator("input#webhook-secret")).to_be_visible()
    assert phone.locator("input#webhook-secret").input_value() != secret
    phone.screenshot(path=str(SHOTS / "webhooks-secret-390.png"), full_page=True, caret="initial")
    phone.goto(f"{live_server}/webhooks/new")
    phone.screenshot(path=str(SHOTS / "webhooks-new-390.png"), full_page=True, caret="initial")
    phone.context.close()
    assert errors == [], "\n".join(errors)


def test_an_endpoint_disabled_after_failures_shows_why_and_can_be_re_enabled(
        app, live_server, browser, create_user, drain, receiver, make_endpoint):
    SHOTS.mkdir(parents=True, exist_ok=True)
    create_user(email="ann@agency.example", role="admin")
    endpoint_id = make_endpoint(events=("audit.finished", "audit.failed")).endpoint.id
    db.session.remove()
    receiver.statuses[:] = [410, 410, 410]  # gone: not retried; 3 in a row disable it
    errors: list[str] = []
    page = _page(browser, 1366, errors)
    _login(page, live_server)
    page.goto(f"{live_server}/webhooks/{endpoint_id}")
    for n in range(3):
        page.click("button:has-text('Send test event')")
        expect(page.locator("tr[data-delivery]")).to_have_count(n + 1)
        assert drain() == 1
    page.reload()
    banner = page.locator(".webhook-disabled")
    expect(banner).to_contain_text("after 3 deliveries in a row failed")
    expect(banner).to_contain_text("http_410")
    expect(page.locator("button:has-text('Send test event')")).to_have_count(0)
    expect(page.locator("[data-status=failed]")).to_have_count(3)
    page.screenshot(path=str(SHOTS / "webhooks-disabled-1366.png"), full_page=True,
                    caret="initial")
    page.click("button:has-text('Re-enable')")
    expect(page.locator(".flash")).to_contain_text("Endpoint enabled")
    expect(page.locator(".webhook-disabled")).to_have_count(0)
    page.context.close()

    phone = _page(browser, 390, errors)
    _login(phone, live_server)
    phone.goto(f"{live_server}/webhooks/{endpoint_id}")
    expect(phone.locator("tr[data-delivery]")).to_have_count(3)
    phone.screenshot(path=str(SHOTS / "webhooks-failures-390.png"), full_page=True,
                     caret="initial")
    phone.context.close()
    assert errors == [], "\n".join(errors)
