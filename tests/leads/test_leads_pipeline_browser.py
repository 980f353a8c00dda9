"""In a real browser: moving leads through the sales stages by hand (one lead, and in
bulk), and who may delete leads and archive campaigns. Screenshots go to
PITCHFAST_SCREENSHOT_DIR when it is set."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app import storage
from app.extensions import db
from app.models import Audit, AuditStatus, Lead, Role, User

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("PITCHFAST_SCREENSHOT_DIR")


def _sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def _statuses(ids: list[int]) -> list[str]:
    db.session.expire_all()
    values = [db.session.get(Lead, i).status.value for i in ids]
    db.session.rollback()  # SQLite: never hold a transaction while the server serves
    return values


def test_move_leads_between_sales_stages(live_server, browser, create_user, campaign,
                                         add_leads):
    email = create_user(role="member").email
    lead_id = add_leads(campaign, 1, prefix="rosa", status="audited", score=41)[0]
    others = add_leads(campaign, 2, prefix="cake")
    dnc = add_leads(campaign, 1, prefix="gone", status="unsubscribed")
    db.session.rollback()
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _sign_in(page, live_server, email)

    # One lead: nothing pre-selected, the sales stages offered, one click per move.
    page.goto(f"{live_server}/leads/{lead_id}")
    move = page.locator("select[name=status]")
    expect(move).to_have_value("")
    expect(move.locator("option").first).to_have_text("Move to…")
    expect(move.locator("option")).to_have_text(
        ["Move to…", "contacted", "replied", "meeting", "won", "lost", "unsubscribed",
         "blacklisted"])
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/lead-move-1366.png", full_page=True)
    for stage in ("contacted", "meeting"):
        page.locator("select[name=status]").select_option(stage)
        page.click("form.move-form button[type=submit]")
        expect(page.locator(".flash-success")).to_have_text(f"Lead moved to {stage}.")
        expect(page.locator("h1.lead-title .badge")).to_have_text(stage)
    assert _statuses([lead_id]) == ["meeting"]

    # In bulk: "→ contacted" from any status, with a summary that says what happened.
    page.goto(f"{live_server}/campaigns/dentists/leads")
    expect(page.locator("select[name=new_status]")).to_have_value("")
    for i in [*others, *dnc]:
        page.check(f"input[name=ids][value='{i}']")
    page.select_option("select[name=action]", "status")
    page.select_option("select[name=new_status]", "contacted")
    page.click("#bulk-form button[type=submit]")
    expect(page.locator(".flash-success")).to_have_text(
        "Moved 2 leads to contacted; 1 is on the do-not-contact list.")
    for name in ("Cake 00000", "Cake 00001"):
        row = page.locator("#results tbody tr", has_text=name)
        expect(row.locator(".badge")).to_have_text("contacted")
    assert _statuses([*others, *dnc]) == ["contacted", "contacted", "unsubscribed"]
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/leads-bulk-move-1366.png", full_page=True)
    assert errors == [], errors


def test_only_admins_delete_leads_and_archive_campaigns(app, live_server, browser, create_user,
                                                        campaign, add_leads):
    boss = create_user(email="boss@agency.example", role="admin").email
    ann_id = create_user(email="ann@agency.example", role="admin").id
    lead_id, keep_id = add_leads(campaign, 2, prefix="rosa")
    audit = Audit(lead_id=lead_id, status=AuditStatus.SUCCEEDED, url="http://rosa0.example/")
    db.session.add(audit)
    db.session.flush()
    key = f"audits/{audit.id}/desktop-viewport.jpg"
    storage.save(key, b"\xff\xd8 a screenshot", "image/jpeg", owner=("audit", audit.id))
    db.session.commit()
    shot = Path(app.config["STORAGE_URL"][len("file://"):]) / key
    assert shot.is_file()
    db.session.rollback()

    # Ann, still an admin, opens the leads list; then she is made a member.
    member_page = browser.new_page(viewport={"width": 390, "height": 844})
    _sign_in(member_page, live_server, "ann@agency.example")
    member_page.goto(f"{live_server}/campaigns/dentists/leads")
    expect(member_page.locator("select[name=action] option[value=delete]")).to_have_count(1)
    db.session.execute(sa.update(User).where(User.id == ann_id).values(role=Role.MEMBER))
    db.session.commit()
    # The page she still has offers Delete: the server refuses it with a clear message.
    member_page.check(f"input[name=ids][value='{lead_id}']")
    member_page.select_option("select[name=action]", "delete")
    member_page.click("#bulk-form button[type=submit]")
    expect(member_page.locator("#flashes .flash-error")).to_have_text(
        "Only an admin can delete leads.")
    if SHOTS:
        member_page.screenshot(path=f"{SHOTS}/member-delete-refused-390.png")
    # Pages rendered for her now offer neither deleting nor archiving.
    member_page.goto(f"{live_server}/campaigns/dentists/leads")
    expect(member_page.locator("select[name=action] option[value=delete]")).to_have_count(0)
    member_page.goto(f"{live_server}/leads/{lead_id}")
    expect(member_page.get_by_role("link", name="Delete")).to_have_count(0)
    member_page.goto(f"{live_server}/campaigns/dentists")
    expect(member_page.get_by_role("button", name="Archive")).to_have_count(0)
    expect(member_page.get_by_role("button", name="Activate")).to_be_visible()
    assert sorted(db.session.scalars(sa.select(Lead.id))) == [lead_id, keep_id]
    assert shot.is_file()
    db.session.rollback()

    # An admin deletes the lead from its page: its screenshot leaves the disk.
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    _sign_in(page, live_server, boss)
    page.goto(f"{live_server}/leads/{lead_id}")
    page.get_by_role("link", name="Delete").click()
    expect(page.locator("h1")).to_have_text("Delete Rosa 00000?")
    page.get_by_role("button", name="Delete this lead").click()
    expect(page.locator(".flash-success")).to_have_text(
        "Lead Rosa 00000 deleted, with its audits and screenshots.")
    expect(page.locator("#results tbody tr", has_text="Rosa 00000")).to_have_count(0)
    assert list(db.session.scalars(sa.select(Lead.id))) == [keep_id]
    db.session.rollback()
    assert not shot.exists()
