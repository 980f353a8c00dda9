"""In real Chromium (issue 9, item 8): import a messy CSV, see in-file duplicates named as
such, download the rows not imported, import the fixed file, then edit a lead's extra
fields. Screenshots at 1366 and 390 px."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("PITCHFAST_SHOTS") or Path(tempfile.gettempdir()) / "pitchfast-shots")


def _settle(page):
    expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping")).to_have_count(0)


def _shots(page, name):
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True, caret="initial")
    page.set_viewport_size({"width": 1366, "height": 900})


def test_download_rows_not_imported_fix_and_import_them(live_server, browser, create_user,
                                                        campaign, fixtures_dir, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    create_user(email="ann@agency.example", role="member")
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and "Failed to load resource" not in m.text else None)
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", "ann@agency.example")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")

    page.goto(f"{live_server}/campaigns/dentists/leads/import")
    page.set_input_files("input[type=file]", str(fixtures_dir / "messy_utf8_bom.csv"))
    page.click("text=Upload and preview")
    page.wait_for_selector("#import-preview")
    dup = page.locator("tr.verdict-duplicate", has_text="Dup Smile")
    expect(dup).to_contain_text("duplicate of line 2 in this file")
    page.click("button[name=commit]")
    page.wait_for_selector("#import-report")
    expect(page.locator("#rejected-download")).to_contain_text("8 rows were not imported.")
    expect(page.locator(".report-table", has_text="Dup Smile")).to_contain_text(
        "duplicate of line 2 in this file (same domain smile-dental.co.uk)")
    _shots(page, "import-report")

    with page.expect_download() as info:
        page.click("text=Download rows not imported (CSV)")
    download = info.value
    assert download.suggested_filename == "messy_utf8_bom-not-imported.csv"
    path = tmp_path / "rejected.csv"
    download.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["Import problem", "Business Name", "Website"]
    assert len(rows) == 9
    fix = {"Bad Url Ltd": "http://example-fixed.com", "FTP Place": "https://files.example.com"}
    fixed = [rows[0]] + [[*r[:2], fix[r[1]], *r[3:]] for r in rows[1:] if r[1] in fix]
    out = tmp_path / "fixed.csv"
    with out.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(fixed)

    # the fixed rows import; the problem column is not kept on the leads
    page.click("text=Import another file")
    page.set_input_files("input[type=file]", str(out))
    page.click("text=Upload and preview")
    page.wait_for_selector("#import-preview")
    expect(page.locator("#sum-imported")).to_have_text("2")
    page.click("button[name=commit]")
    page.wait_for_selector("#import-report")
    expect(page.locator("[data-figure=imported]")).to_have_text("2")
    expect(page.locator("#rejected-download")).to_have_count(0)

    # a lead with extra columns from the first file: edit them on its form
    page.click("text=See the leads")
    page.locator(".lead-name", has_text="Smile Dental").first.click()
    expect(page.locator("h1")).to_contain_text("Smile Dental")
    page.click(".page-head >> text=Edit")
    extra = page.locator("#extra-fields")
    expect(extra.locator("input[value='Unused']")).to_have_count(1)  # an unmapped column
    _settle(page)
    _shots(page, "lead-extra-fields")
    value = extra.locator("input[aria-label='Unused: value']")
    expect(value).to_have_value("x")
    value.fill("Call after 10am")
    extra.locator("input[aria-label='New field name']").fill("Google rating")
    extra.locator(".extra-new input[aria-label='Value']").fill("4.6")
    page.click("#lead-form button[type=submit]")
    expect(page.locator("#flashes")).to_contain_text("Lead saved.")
    body = page.locator(".lead-body")
    expect(body).to_contain_text("Call after 10am")
    expect(body).to_contain_text("Google rating")
    assert errors == [], errors
    context.close()
