"""Issue 9.7: lists say where you are ("51–100 of 12,345") and go to the first and last
page, still keyset-based; the campaign list pages beyond 100; the status filter's label is
not cut off; on a 390-px phone the leads table becomes readable cards with the score."""

from __future__ import annotations

import pytest
from dashhelpers import settle
from playwright.sync_api import expect

from app.extensions import db

#: True when the select's widest option fits beside its drop-down arrow (~20 px).
FITS = """sel => {
  const cs = getComputedStyle(sel), ctx = document.createElement("canvas").getContext("2d");
  ctx.font = cs.font;
  const widest = Math.max(...Array.from(sel.options, o => ctx.measureText(o.text).width));
  return widest + parseFloat(cs.paddingLeft) + 20 <= sel.clientWidth;
}"""


def _positions(html: str) -> str:
    import re

    m = re.search(r'id="page-position">([^<]*)<', html)
    return m.group(1) if m else ""


@pytest.mark.browser
def test_leads_paging_says_where_you_are(live_server, signed_in, campaign, add_leads, shots):
    add_leads(campaign, 120, city=lambda i: ("Leeds", "York", None)[i % 3],
              score=lambda i: None if i % 4 == 0 else i % 100)
    page = signed_in()
    page.goto(f"{live_server}/campaigns/dentists/leads")
    pos = page.locator("#page-position")
    expect(pos).to_have_text("1–50 of 120")
    expect(page.locator("a[rel=first]")).to_have_count(0)
    page.screenshot(path=str(shots / "lists-leads-1366.png"), full_page=True, caret="initial")
    page.click("a[rel=next]")
    expect(pos).to_have_text("51–100 of 120")
    page.click("a[rel=last]")
    expect(pos).to_have_text("71–120 of 120")
    expect(page.locator("a[rel=next]")).to_have_count(0)
    page.click("a[rel=prev]")
    expect(pos).to_have_text("21–70 of 120")
    page.click("a[rel=first]")
    expect(pos).to_have_text("1–50 of 120")
    # Sorted by score (NULLs last) and filtered: the same promises.
    page.click("th a.sort-link:has-text('Score')")
    page.wait_for_url("**sort=score**")
    expect(pos).to_have_text("1–50 of 120")
    page.click("a[rel=last]")
    expect(pos).to_have_text("71–120 of 120")
    page.click("a[rel=prev]")
    expect(pos).to_have_text("21–70 of 120")
    page.click("a[rel=next]")
    expect(pos).to_have_text("71–120 of 120")
    page.fill("#f-q", "biz1")  # Biz 00001, 00010-00019, 00100-00119: 31 leads
    expect(pos).to_have_text("1–31 of 31")
    settle(page)
    assert page.errors == []

    # The status filter shows its longest choice whole, beside the arrow (at 1366 px and
    # at a narrow laptop's 1024 px).
    for width in (1366, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.locator("#status").evaluate(FITS), width


@pytest.mark.browser
def test_leads_table_is_cards_on_a_phone(live_server, signed_in, campaign, add_leads, shots):
    add_leads(campaign, 8, city="Leeds", score=lambda i: 30 + i * 9, email="x@y.example",
              business_name=lambda i: f"Very Long Business Name Dental Practice {i}",
              status=lambda i: ("new", "audited", "unsubscribed", "audit_failed")[i % 4])
    phone = signed_in(width=390)
    phone.goto(f"{live_server}/campaigns/dentists/leads")
    expect(phone.locator(".lead-name")).to_have_count(8)
    phone.screenshot(path=str(shots / "lists-leads-390.png"), full_page=True, caret="initial")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    status, score = (phone.locator(s).bounding_box() for s in ("#status", "input[name=score_min]"))
    assert phone.locator("#status").evaluate(FITS)
    assert status["x"] + status["width"] <= score["x"]  # side by side, not overlapping
    # One card per lead: name, status and score all visible inside the card, on screen.
    rows = phone.locator(".leads-table tbody tr")
    for i in range(rows.count()):
        card = rows.nth(i).bounding_box()
        assert card["x"] >= 0 and card["x"] + card["width"] <= 390
        for part in (".lead-name", ".badge", ".score"):
            item = rows.nth(i).locator(part).first
            expect(item).to_be_visible()
            b = item.bounding_box()
            assert card["x"] <= b["x"] and b["x"] + b["width"] <= card["x"] + card["width"] + 1
            assert card["y"] <= b["y"] and b["y"] + b["height"] <= card["y"] + card["height"] + 1
    expect(rows.last.locator(".score")).to_have_text("30")
    expect(rows.first.locator(".badge")).to_have_text("audit failed")
    assert phone.locator(".leads-table thead").is_hidden()
    # Every card is one block of the page: name on top, not a squeezed table cell.
    name, score = (rows.first.locator(p).bounding_box() for p in (".lead-name", ".score"))
    assert name["width"] > 200 and score["x"] > name["x"] + name["width"] - 1
    assert phone.errors == []


def test_campaign_list_pages_beyond_100(client, auth, app):
    from app.activity import SYSTEM
    from app.campaigns.operations import create_campaign

    for i in range(130):
        create_campaign(f"Campaign {i:03d}", f"c{i:03d}", actor=SYSTEM)
    db.session.commit()
    auth.login(role="member")
    html = client.get("/campaigns/").get_data(as_text=True)
    assert "Campaign 129" in html and "Campaign 029" not in html
    assert "1–100 of 130" in html
    import re

    nxt = re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    html = client.get(nxt).get_data(as_text=True)
    assert "Campaign 029" in html and "Campaign 000" in html and "Campaign 030" not in html
    assert "101–130 of 130" in html and 'rel="next"' not in html


@pytest.mark.parametrize("sort", ["-created", "created", "name", "-name", "score", "-score",
                                  "city", "-city", "status", "-status"])
def test_page_positions_match_the_order(campaign, add_leads, sort):
    """Walking the whole list forwards, backwards and from the last page, every page's
    "start–end of total" matches the rows' real positions (NULLs last, ties by id)."""
    from app.leads import queries
    from app.leads.search import LeadFilter

    add_leads(campaign, 47, city=lambda i: (None, "Leeds", "York", "Bath")[i % 4],
              score=lambda i: None if i % 5 == 0 else (i * 7) % 13,
              business_name=lambda i: f"Biz {(i * 17) % 23:02d}",
              status=lambda i: ("new", "audited", "lost")[i % 3])
    f = LeadFilter(sort=sort)
    everything = queries.page(campaign.id, f, per_page=1000).rows
    order = [r.id for r in everything]
    assert len(order) == 47

    def check(p):
        assert p.total == 47
        assert [r.id for r in p.rows] == order[p.start - 1:p.end], (p.start, p.end)

    p, seen = queries.page(campaign.id, f, per_page=10), []
    while True:
        check(p)
        seen += [r.id for r in p.rows]
        if not p.next_cursor:
            break
        p = queries.page(campaign.id, f, after=p.next_cursor, per_page=10)
    assert seen == order and p.end == 47
    p = queries.page(campaign.id, f, last=True, per_page=10)
    check(p)
    assert (p.start, p.end, p.next_cursor) == (38, 47, None)
    while p.prev_cursor:
        p = queries.page(campaign.id, f, before=p.prev_cursor, per_page=10)
        check(p)
    assert p.start == 1
