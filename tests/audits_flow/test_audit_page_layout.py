"""The staff audit page, looked at in real Chromium (issue 9, item 9): annotated crops are
large enough to read, their captions do not wrap a word a line, the lead page gives the
audit panel a place of its own (not squeezed into the heading), and with a red brand
colour a "fixed" item is green, never red: status colours are not the brand colour.
Screenshots at 1366 and 390 px."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.activity import SYSTEM
from app.extensions import db
from app.models import Audit, Lead

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("PITCHFAST_SHOTS") or Path(tempfile.gettempdir()) / "pitchfast-shots")
PW = "correct horse battery"
RED = "#dc2626"
#: Narrowest an annotated crop may show: its outlines and numbers must be readable.
MIN_CROP = {1366: 340, 390: 280}  # 390: the whole width of the card


def _rgb(css: str) -> tuple[int, int, int]:
    r, g, b = (int(x) for x in re.findall(r"\d+", css)[:3])
    return r, g, b


def _reddish(rgb: tuple[int, int, int]) -> bool:
    r, g, b = rgb
    return r > 150 and r > g * 1.6 and r > b * 1.6


def _lines(locator) -> float:
    """How many lines of text an element holds (its height over its line height)."""
    box = locator.bounding_box()
    line = float(locator.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
    return box["height"] / line


@pytest.fixture
def two_audits(app, client, auth, drain, fresh_site, make_lead):
    """A lead audited twice: first the tidy page (v2), then the messy one (v1), so the second
    audit has annotated crops and also fixed something (v1 declares its language)."""
    from app.settings import operations as settings_ops

    settings_ops.set_value("brand_colour", RED, actor=SYSTEM)
    lead_id = make_lead(fresh_site.url("/")).id
    auth.login(role="member")
    audits = []
    for version in (2, 1):
        fresh_site.version = version
        assert client.post(f"/leads/{lead_id}/audit").status_code in (200, 302)
        assert drain() == 1
        db.session.expire_all()
        audits.append(db.session.get(Lead, lead_id).latest_audit_id)
    auth.logout()
    db.session.remove()
    return lead_id, audits


def test_crops_captions_panel_and_status_colours(app, live_server, browser, create_user,
                                                 two_audits):
    lead_id, (first, second) = two_audits
    create_user(email="sam@agency.example", role="member")
    db.session.remove()
    audit = db.session.get(Audit, second)
    assert audit.screenshots and any("annotated" in k for k in audit.screenshots), \
        audit.screenshots
    db.session.remove()
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    for width in (1366, 390):
        ctx = browser.new_context(viewport={"width": width, "height": 900 if width > 500 else 844},
                                  is_mobile=width < 500)
        page = ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{live_server}/login")
        page.fill("input[name=email]", "sam@agency.example")
        page.fill("input[name=password]", PW)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/")

        # the brand is red here: the top-bar links and primary buttons say so
        page.goto(f"{live_server}/audits/{second}")
        expect(page.locator(".finding-crop img").first).to_be_visible()
        brand = page.locator(".audit-hero-actions a", has_text="Lead details")  # a plain link
        assert _rgb(brand.evaluate("e => getComputedStyle(e).color")) == (0xdc, 0x26, 0x26)

        for img in page.locator(".finding-crop img").all():  # lazy images: load them all
            img.scroll_into_view_if_needed()
            expect(img).to_have_js_property("complete", True)
            assert img.evaluate("e => e.naturalWidth") > 0
        page.screenshot(path=str(SHOTS / f"audit-page-{width}.png"), full_page=True,
                        caret="initial")
        page.locator("#changes").screenshot(path=str(SHOTS / f"audit-changes-{width}.png"),
                                            caret="initial")
        page.locator(".finding-crop").first.locator("xpath=ancestor::li[1]").screenshot(
            path=str(SHOTS / f"audit-finding-crop-{width}.png"), caret="initial")

        # crops are big enough to read; captions take a line or two, not a word a line
        crops = page.locator(".finding-crop")
        assert crops.count() >= 1
        for i in range(crops.count()):
            crop = crops.nth(i)
            crop.scroll_into_view_if_needed()
            img = crop.locator("img")
            expect(img).to_be_visible()
            assert img.bounding_box()["width"] >= MIN_CROP[width], (width, img.bounding_box())
            caption = crop.locator("figcaption")
            assert _lines(caption) <= 2.2, (width, caption.inner_text(), _lines(caption))

        # what was fixed is in a status colour (green), never the red brand
        fixed = page.locator(".changes-fixed li a").first
        expect(fixed).to_be_visible()
        colour = _rgb(fixed.evaluate("e => getComputedStyle(e).color"))
        assert not _reddish(colour), colour
        assert colour[1] > colour[0], colour  # green (or neutral ink would be grey: g == r)
        count = _rgb(page.locator(".changes-fixed .count").evaluate(
            "e => getComputedStyle(e).color"))
        assert not _reddish(count) and count[1] > count[0], count

        # the lead page: the audit panel has a row of its own, not the heading's corner
        page.goto(f"{live_server}/leads/{lead_id}")
        panel = page.locator(f"#audit-panel-{lead_id}")
        expect(panel).to_be_visible()
        page.screenshot(path=str(SHOTS / f"audit-lead-page-{width}.png"), full_page=True,
                        caret="initial")
        expect(page.locator(f".page-head #audit-panel-{lead_id}")).to_have_count(0)
        head = page.locator(".page-head").bounding_box()
        box = panel.bounding_box()
        assert box["y"] >= head["y"] + head["height"] - 1  # below the heading, not beside it
        main = page.locator(".lead-body > div").first.bounding_box()
        assert box["width"] >= main["width"] - 2, (box, main)  # as wide as its column
        chips = panel.locator(".cat-chip")
        assert chips.count() >= 3
        assert _lines(panel.locator(".audit-panel-meta .small")) <= 2.2
        ctx.close()
    assert errors == [], errors
    assert first != second
    assert db.session.scalar(select(Audit.id).where(Audit.id == first)) == first
