"""The prospect's page in a real Chromium at 390 px and 1366 px: no horizontal scroll,
every image loaded at its declared size, no console errors, nothing requested from
anywhere but the page's own origin, and it works with JavaScript off."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from publichelpers import PHONE_UA, agency

from app.activity import SYSTEM
from app.extensions import db
from app.public import operations, queries

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("PITCHFAST_SCREENSHOTS")


@pytest.mark.parametrize("status", ["ok", "site_down"])
def test_page_layout_on_phone_and_desktop(app, factory, live_server, browser, status,
                                          tmp_path):
    agency()
    campaign = factory.campaign()
    lead = factory.lead(campaign, name="Rosa's Family Dental & Orthodontics")
    audit = factory.audit(lead, status=status)
    for i in range(5):
        factory.audit(factory.lead(campaign, name=f"Peer {i}"),
                      scores={"overall": 40 + i, "speed": 50 + i, "mobile": 30 + i})
    link = operations.publish(audit, actor=SYSTEM)
    db.session.commit()
    url = live_server + f"/r/{queries.token_for(link)}"
    db.session.rollback()  # SQLite: never hold the write lock while the live server serves
    for width, height in ((390, 844), (1366, 900)):
        context = browser.new_context(viewport={"width": width, "height": height},
                                      java_script_enabled=False, user_agent=PHONE_UA)
        page = context.new_page()
        requests, errors = [], []
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        resp = page.goto(url, wait_until="load")
        assert resp.status == 200
        assert all(r.startswith(live_server) for r in requests), requests
        assert errors == []
        # JS is off (and the CSP forbids eval): measure the layout through the boxes.
        for el in page.locator("main *, header *, footer *").all()[:400]:
            box = el.bounding_box()
            if box:
                assert box["x"] + box["width"] <= width + 1, (width, el.evaluate_handle)
        for img in page.locator("main img").all():
            assert img.get_attribute("width") and img.get_attribute("height")
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{SHOTS}/public-{status}-{width}.png", full_page=True)
            if width > 1000:  # what the PDF prints (A4 at 96 dpi is 794 px wide)
                page.set_viewport_size({"width": 794, "height": 1123})
                page.emulate_media(media="print")
                page.screenshot(path=f"{SHOTS}/public-{status}-print.png", full_page=True)
        context.close()
