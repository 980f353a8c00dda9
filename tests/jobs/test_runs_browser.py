"""Real Chromium: the Runs table updates live without a reload and stops polling when
nothing is active; the detail page retries and cancels. Screenshots at 1366 and 390 px."""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import pytest

from app.extensions import db
from app.jobs import runs
from app.models import Run, RunStatus

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("PITCHFAST_SHOTS", Path(tempfile.gettempdir()) / "pitchfast-shots"))
PW = "correct horse battery"




def _seed() -> dict[str, int]:
    """A realistic mix of runs; returns ids by role. Ends with no open transaction."""
    ids: dict[str, int] = {}
    for name, kind, payload in (("ok", "noop", {}), ("bad", "test.permanent", {}),
                                ("flaky", "test.transient", {})):
        run = runs.create(kind, subject=("lead", 7), payload=payload)
        db.session.commit()
        ids[name] = run.id
        runs.execute(run.id)
    flaky = db.session.get(Run, ids["flaky"])
    flaky.status, flaky.finished_at = RunStatus.DEAD, flaky.not_before
    for name, seconds in (("queued", 1.0), ("live", 5.0)):
        run = runs.create("sleep", payload={"seconds": seconds})
        db.session.commit()
        ids[name] = run.id
    db.session.commit()
    db.session.remove()  # never hold a transaction while the server thread works
    return ids


def _login(page, base, email):
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PW)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _execute_later(app, run_id):
    def go():
        with app.app_context():
            runs.execute(run_id)
            db.session.remove()
    t = threading.Thread(target=go)
    t.start()
    return t


def test_runs_table_updates_live_then_stops_polling(app, live_server, browser, create_user):
    ids = _seed()
    user = create_user(role="admin")  # internal kinds (sleep, noop) are listed for admins
    email = user.email
    db.session.remove()
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    page = ctx.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # only our pages: other pages' console errors are their owners' tests' business.
    # Screenshots use caret="initial": Playwright's caret hiding leaves style="" on inputs,
    # which htmx then copies during a swap and the CSP (rightly) refuses.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and "/runs" in page.url else None)
    _login(page, live_server, email)

    page.goto(f"{live_server}/runs/?internal=1")
    page.evaluate("window.__noReload = true")
    assert page.locator(f"#run-{ids['live']} [data-status]").inner_text() == "waiting"
    page.screenshot(path=str(SHOTS / "runs-index-1366.png"), full_page=True, caret="initial")

    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/runs/" in r.url else None)
    workers = [_execute_later(app, ids["live"]), _execute_later(app, ids["queued"])]
    page.wait_for_selector(f"#run-{ids['live']} [data-status=running]", timeout=15000)
    for t in workers:
        t.join(30)
    page.wait_for_selector(f"#run-{ids['live']} [data-status=succeeded]", timeout=15000)
    page.wait_for_selector(f"#run-{ids['queued']} [data-status=succeeded]", timeout=15000)
    assert page.evaluate("window.__noReload") is True  # updated in place, no reload
    assert page.locator("#runs-table[hx-trigger]").count() == 0  # polling stopped
    settled = len(polls)
    page.wait_for_timeout(4000)
    assert len(polls) == settled  # no request after the 286

    page.goto(f"{live_server}/runs/?status=failed&internal=1")
    assert page.locator("tr.run-row").count() == 2  # failed at once, and dead (gave up)
    page.click(f"#run-{ids['bad']} a >> nth=0")
    page.wait_for_url(f"{live_server}/runs/{ids['bad']}")
    assert "hunter2secret" not in page.content()
    page.screenshot(path=str(SHOTS / "runs-detail-1366.png"), full_page=True, caret="initial")
    page.click("button:has-text('Retry')")
    page.wait_for_selector("text=will run again")
    assert page.locator("[data-status]").first.inner_text() == "waiting"
    page.once("dialog", lambda d: d.accept())
    page.click("button:has-text('Cancel')")
    page.wait_for_selector("text=canceled.")
    assert page.locator("[data-status]").first.inner_text() == "canceled"
    # forms and links inside a polling block must not inherit its hx-* (full page swap)
    assert page.locator(".topbar").count() == 1

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    ppage = phone.new_page()
    _login(ppage, live_server, email)
    ppage.goto(f"{live_server}/runs/?internal=1")
    ppage.screenshot(path=str(SHOTS / "runs-index-390.png"), full_page=True, caret="initial")
    width = ppage.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width}px wide on a phone"
    ppage.goto(f"{live_server}/runs/{ids['flaky']}")
    ppage.screenshot(path=str(SHOTS / "runs-detail-390.png"), full_page=True, caret="initial")
    assert ppage.evaluate("document.documentElement.scrollWidth") <= 390
    assert errors == []
