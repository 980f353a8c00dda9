"""Issue 9.1: after any htmx navigation, the browser's Back button shows the whole page
(menu, title, filters), never the bare block htmx swapped in. htmx restores history by
asking the server again (``historyCacheSize`` is 0: pages hold live data), and a
history-restore request must get the full page; every response that depends on
``HX-Request`` says so in ``Vary``."""

from __future__ import annotations

import pytest
from dashhelpers import settle
from playwright.sync_api import expect

from app import activity
from app.extensions import db
from app.jobs import runs

HX = {"HX-Request": "true"}
RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}


def _seed(campaign, add_leads) -> dict[str, int]:
    ids = add_leads(campaign, 60, city=lambda i: ("Leeds", "York")[i % 2])
    run = runs.create("audit", subject=("lead", ids[0]), payload={"url": "http://biz0.example.com/"})
    for i in range(25):
        activity.record(activity.SYSTEM, "test.event", f"event {i}", subject=("run", run.id))
    db.session.commit()
    out = {"lead": ids[0], "run": run.id}
    db.session.remove()
    return out


def _full_page(page, title: str) -> None:
    """The whole page is there: the menu, the page title, nothing but one body."""
    expect(page.locator("header.topbar")).to_have_count(1)
    expect(page.locator("h1").first).to_contain_text(title)
    expect(page.locator("main.container")).to_have_count(1)


@pytest.mark.browser
def test_back_after_htmx_navigation_shows_the_whole_page(live_server, signed_in, campaign,
                                                        add_leads):
    ids = _seed(campaign, add_leads)
    page = signed_in()
    leads = f"{live_server}/campaigns/dentists/leads"

    # Leads: a search swaps only the results and pushes the URL; Back restores the list.
    page.goto(leads)
    expect(page.locator(".lead-name")).to_have_count(50)
    page.fill("#f-q", "biz0")
    page.wait_for_url("**q=biz0**")
    settle(page)
    page.go_back()
    page.wait_for_url(leads)
    settle(page)
    expect(page.locator("#f-q")).to_have_value("")
    _full_page(page, "Leads")
    expect(page.locator("form.lead-filters")).to_have_count(1)

    # Leads: a filter, then paging and sorting (boosted links), each undone with Back.
    page.select_option("#status", "new")
    page.wait_for_url("**status=new**")
    settle(page)
    page.click("a[rel=next]")
    page.wait_for_url("**after=**")
    settle(page)
    page.click("th a.sort-link:has-text('Business')")
    page.wait_for_url("**sort=name**")
    settle(page)
    page.go_back()
    page.wait_for_url("**after=**")
    settle(page)
    _full_page(page, "Leads")
    expect(page.locator(".lead-name")).to_have_count(10)
    page.go_back()
    page.wait_for_url("**status=new**")
    settle(page)
    _full_page(page, "Leads")
    expect(page.locator("#status")).to_have_value("new")

    # Dashboard → Runs → a run → Back, Back.
    page.goto(f"{live_server}/")
    page.click("main a.btn:has-text('Runs')")
    page.wait_for_url(f"{live_server}/runs/")
    page.click(f"#run-{ids['run']} a >> nth=0")
    page.wait_for_url(f"{live_server}/runs/{ids['run']}")
    settle(page)
    page.go_back()
    page.wait_for_url(f"{live_server}/runs/")
    settle(page)
    _full_page(page, "Runs")
    expect(page.locator("form.runs-filters")).to_have_count(1)
    page.go_back()
    page.wait_for_url(f"{live_server}/")
    settle(page)
    _full_page(page, "Dashboard")

    # Activity (older items) → an item's page → Back.
    page.click("text=Older activity")
    page.wait_for_url("**/activity?before=**")
    activity_url = page.url
    page.click(".feed-link >> nth=0")
    page.wait_for_url(f"{live_server}/runs/{ids['run']}")
    settle(page)
    page.go_back()
    page.wait_for_url(activity_url)
    settle(page)
    _full_page(page, "Activity")
    assert page.errors == []


@pytest.mark.parametrize("path", ["/", "/activity", "/runs/", "/runs/{run}",
                                  "/campaigns/dentists/leads"])
def test_history_restore_gets_the_page_and_responses_vary(client, auth, campaign, add_leads,
                                                         path):
    """The server side of the same promise, route by route (no browser needed)."""
    ids = _seed(campaign, add_leads)
    auth.login(role="member")
    url = path.format(run=ids["run"])
    block = client.get(url, headers=HX)
    assert "<html" not in block.get_data(as_text=True)
    for headers in ({}, RESTORE, {**HX, "HX-Boosted": "true"}):
        resp = client.get(url, headers=headers)
        assert "<html" in resp.get_data(as_text=True), headers
    for resp in (block, client.get(url), client.get(url, headers=RESTORE)):
        vary = {v.strip() for v in resp.headers.get("Vary", "").split(",")}
        assert {"HX-Request", "HX-History-Restore-Request"} <= vary, (url, vary)
