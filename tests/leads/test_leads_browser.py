"""End to end in real Chromium: import a messy CSV, search and filter, select and
bulk-audit, watch the live progress bar, export the result."""

import csv
import io

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "Failed to load resource" not in msg.text
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    yield page
    context.close()
    assert errors == [], errors


def test_import_search_bulk_audit_progress_export(
    live_server, browser_page, create_user, campaign, fixtures_dir, audit_stand_in, drain
):
    from playwright.sync_api import expect

    page = browser_page
    create_user(email="ann@agency.example", role="member")
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "ann@agency.example")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")

    # import a messy CSV through the dashboard
    page.goto(f"{live_server}/campaigns/dentists/leads/import")
    page.set_input_files("input[type=file]", str(fixtures_dir / "messy_utf8_bom.csv"))
    page.click("text=Upload and preview")
    page.wait_for_selector("#import-preview")
    assert page.inner_text("#sum-imported") == "9"
    page.select_option("#map_email", "")  # htmx re-renders the preview on change
    expect(page.locator("#sum-imported")).to_have_text("11")
    # the preview (with the select itself) was swapped in; wait until htmx has settled
    expect(page.locator(".htmx-request, .htmx-settling")).to_have_count(0)
    expect(page.locator("#map_email")).to_have_value("")
    page.select_option("#map_email", "2")
    expect(page.locator("#sum-imported")).to_have_text("9")
    page.click("button[name=commit]")
    page.wait_for_selector("#import-report")
    assert page.inner_text("[data-figure=imported]") == "9"
    assert page.inner_text("[data-figure=bad]") == "6"
    assert "contains spaces" in page.inner_text("body")

    # search and filter (htmx swaps the results and pushes the URL)
    page.click("text=See the leads")
    page.wait_for_selector(".leads-table")
    assert page.locator(".lead-name").count() == 9
    assert page.locator(".lead-name", has_text="<script>alert(1)</script> Clinic").count() == 1
    page.fill("#f-q", "smile")
    expect(page.locator(".lead-name")).to_have_count(1)
    assert "q=smile" in page.url
    page.fill("#f-q", "")
    expect(page.locator(".lead-name")).to_have_count(9)
    page.fill("input[name=city]", "leeds")
    expect(page.locator(".lead-name")).to_have_count(5)
    assert "city=leeds" in page.url

    # select all Leeds leads and bulk-audit them
    page.check("input[data-select-all=ids]")
    page.select_option("select[name=action]", "audit")
    page.click("#bulk-form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Queued audits for 5 leads.")
    expect(page.locator("#progress .batch")).to_contain_text("5 remaining")
    assert drain() == 5
    expect(page.locator("#progress .batch")).to_contain_text("complete", timeout=10_000)
    assert "5 done" in page.inner_text("#progress")
    page.reload()
    assert page.locator(".badge-audited").count() == 5

    # export the filtered view
    with page.expect_download() as info:
        page.click("#export-link")
    data = open(info.value.path(), encoding="utf-8-sig").read()
    rows = list(csv.DictReader(io.StringIO(data)))
    assert len(rows) == 5 and {r["city"] for r in rows} == {"Leeds"}
    assert {r["status"] for r in rows} == {"audited"}
    full = page.request.get(f"{live_server}/campaigns/dentists/leads.csv").text()
    assert "'=HYPERLINK(" in full
