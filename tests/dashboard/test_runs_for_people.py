"""Issue 9.4 in real Chromium: the Runs pages are written for people. A run says whom it
was for (the business, linked), what went wrong in plain words and what to do; codes,
payloads, worker names and the log sit behind "Technical details", for admins only; the
Kind filter lists what people start; the dashboard's "N runs failed" matches the list its
link opens (dead runs in both); Retry hands the run over at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dashhelpers import settle
from playwright.sync_api import expect

from app.activity import SYSTEM
from app.extensions import db
from app.jobs import runs
from app.leads.operations import create_lead
from app.models import Run, RunStatus
from app.models.base import utcnow

pytestmark = pytest.mark.browser
RAW = "acme-dental.example could not be looked up ([Errno -2] Name or service not known)."


def _seed(campaign) -> dict[str, int]:
    lead = create_lead(campaign, {"business_name": "Acme Dental",
                                  "website_url": "https://acme-dental.example/"}, actor=SYSTEM)
    db.session.commit()
    now = utcnow()
    ids = {"lead": lead.id}
    for name, kind, status, code, ended in (
        ("dns", "audit", RunStatus.FAILED, "dns_failure", now - timedelta(minutes=5)),
        ("dead", "audit", RunStatus.DEAD, "timeout", now - timedelta(hours=2)),
        ("old", "audit", RunStatus.FAILED, "http_error", now - timedelta(days=3)),
        ("internal", "noop", RunStatus.FAILED, "boom", now - timedelta(minutes=1)),
        ("ok", "audit", RunStatus.SUCCEEDED, None, now - timedelta(minutes=1)),
    ):
        run = runs.create(kind, subject=("lead", lead.id) if kind == "audit" else None,
                          payload={"url": "https://acme-dental.example/"})
        db.session.flush()
        run.status, run.error_code, run.finished_at = status, code, ended
        run.error, run.attempt = (RAW if code else None), (3 if status == RunStatus.DEAD else 1)
        run.worker_id = "build-host-7:4242:1"
        db.session.commit()
        ids[name] = run.id
    db.session.remove()
    return ids


def test_runs_read_for_people(live_server, signed_in, campaign, audit_stand_in, drain, shots):
    ids = _seed(campaign)
    page = signed_in(role="member")

    # The dashboard's count and the list its link opens agree (dead included, internal and
    # older failures left out of both).
    expect(page.locator("#failed-runs")).to_have_text("2 runs failed in the last 24 h")
    page.screenshot(path=str(shots / "people-dashboard-1366.png"), full_page=True, caret="initial")
    page.click("#failed-runs")
    page.wait_for_url("**/runs/?status=failed&since=24")
    expect(page.locator("tr.run-row")).to_have_count(2)
    expect(page.locator("[data-chip=failed] .chip-n")).to_have_text("2")
    assert page.locator(f"#run-{ids['internal']}").count() == 0

    row = page.locator(f"#run-{ids['dns']}")
    expect(row.locator("td[data-label=For] a")).to_have_text("Acme Dental")
    expect(row.locator("td[data-label=Problem]")).to_contain_text(
        "The website's name doesn't resolve (DNS)")
    expect(page.locator(f"#run-{ids['dead']} [data-status]")).to_have_text("failed")
    body = page.inner_text("body")
    assert "dns_failure" not in body and "Errno" not in body and "lead #" not in body
    options = page.locator("#kind option").all_inner_texts()
    assert options == ["Any kind", "Audit"]
    assert page.locator("text=Include internal jobs").count() == 0
    page.screenshot(path=str(shots / "people-runs-1366.png"), full_page=True, caret="initial")

    # The failed run: what happened and what to do; nothing technical for a member.
    page.click(f"#run-{ids['dns']} td[data-label=Job] a")
    page.wait_for_url(f"{live_server}/runs/{ids['dns']}")
    expect(page.locator("h1")).to_contain_text("Audit of Acme Dental")
    expect(page.locator(".run-what")).to_have_text(
        "The website's name doesn't resolve (DNS): no address was found for it.")
    expect(page.locator(".run-todo")).to_contain_text("Check the address on the lead")
    body = page.inner_text("body")
    for technical in ("dns_failure", "Errno", "build-host-7", "Technical details", '"url"'):
        assert technical not in body, technical
    page.screenshot(path=str(shots / "people-run-1366.png"), full_page=True, caret="initial")

    # Retry: handed to the queue at once (nothing scheduled for later), and it runs.
    page.click("button:has-text('Retry now')")
    expect(page.locator(".flash")).to_contain_text("will run again now")
    run = db.session.get(Run, ids["dns"])
    assert run.status == RunStatus.PENDING and run.not_before is None and run.enqueued_at
    db.session.remove()
    assert drain() == 1
    expect(page.locator("h1 [data-status]")).to_have_text("succeeded", timeout=10000)
    settle(page)

    # On a phone: readable rows, no sideways scrolling.
    phone = signed_in(role="member", width=390)
    phone.goto(f"{live_server}/runs/?status=failed&since=24")
    expect(phone.locator("tr.run-row")).to_have_count(1)
    phone.screenshot(path=str(shots / "people-runs-390.png"), full_page=True, caret="initial")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.goto(f"{live_server}/runs/{ids['dead']}")
    phone.screenshot(path=str(shots / "people-run-390.png"), full_page=True, caret="initial")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    # An admin finds the technical details behind a fold, and may list internal jobs.
    admin = signed_in(role="admin")
    admin.goto(f"{live_server}/runs/{ids['dead']}")
    fold = admin.locator("details.technical")
    expect(fold).to_have_count(1)
    expect(admin.locator("text=build-host-7")).to_be_hidden()
    fold.locator("summary").click()
    expect(fold).to_contain_text("timeout")
    expect(fold).to_contain_text("Errno -2")
    admin.screenshot(path=str(shots / "people-run-admin-1366.png"), full_page=True, caret="initial")
    admin.goto(f"{live_server}/runs/")
    admin.check("input[name=internal]")
    admin.click("button:has-text('Filter')")
    admin.wait_for_url("**internal=**")
    expect(admin.locator(f"#run-{ids['internal']}")).to_have_count(1)
    assert "noop" in admin.locator("#kind option").all_inner_texts()
    assert page.errors == [] and phone.errors == [] and admin.errors == []
