"""Issue 9.10: the periodic upkeep run, on real files in storage. It removes uploads of
imports never finished (older than a day), run log lines and full-size screenshots past
their retention; thumbnails and crops stay; nothing a published, unrevoked audit uses is
ever removed; its figures are the run's result, shown on the Runs page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app import storage
from app.activity import SYSTEM
from app.campaigns.operations import create_campaign
from app.extensions import db
from app.jobs import periodic, registry, runs
from app.leads.operations import create_lead
from app.models import Activity, Audit, AuditStatus, Run, RunLog, RunStatus, StoredFile
from app.models.base import utcnow

SHOTS = {  # name: (kind, width, height)
    "desktop-viewport.jpg": ("viewport", 683, 384), "desktop-full.jpg": ("full", 683, 1400),
    "desktop-thumb.webp": ("thumbnail", 320, 180),
    "desktop-annotated-image-alt.jpg": ("annotated", 500, 300),
    "mobile-full.jpg": ("full", 195, 900),
}


def _image(name: str, width: int, height: int) -> bytes:
    """A real image (so a browser can show it), a different colour per kind."""
    import io

    from PIL import Image

    out = io.BytesIO()
    colour = {"viewport": "#4f46e5", "full": "#0ba5ec", "thumbnail": "#12b76a"}.get(
        SHOTS[name][0], "#f04438")
    Image.new("RGB", (width, height), colour).save(out, "WEBP" if name.endswith("webp") else "JPEG")
    return out.getvalue()


IMAGES = {name: _image(name, w, h) for name, (_kind, w, h) in SHOTS.items()}
FULL_BYTES = sum(len(IMAGES[n]) for n, (kind, _w, _h) in SHOTS.items() if kind != "thumbnail"
                 and kind != "annotated")


def _root(app: Any) -> Path:
    return Path(app.config["STORAGE_URL"][len("file://"):])


def _age(key: str, days: float) -> None:
    row = db.session.scalar(select(StoredFile).where(StoredFile.key == key))
    row.created_at = utcnow() - timedelta(days=days)


def _audit(lead_id: int, days: float, published: bool = False, revoked: bool = False) -> int:
    audit = Audit(lead_id=lead_id, url="https://shop.example/", status=AuditStatus.SUCCEEDED,
                  created_at=utcnow() - timedelta(days=days), score=50)
    db.session.add(audit)
    db.session.flush()
    index = {}
    for name, (kind, width, height) in SHOTS.items():
        key = f"audits/{audit.id}/{name}"
        storage.save(key, IMAGES[name], "image/webp" if name.endswith("webp") else "image/jpeg",
                     owner=("audit", audit.id))
        _age(key, days)
        index[name] = {"name": name, "kind": kind, "form_factor": name.split("-")[0],
                       "width": width, "height": height, "key": key}
    audit.screenshots = index
    if published:
        audit.published_at = utcnow() - timedelta(days=days)
    if revoked:
        audit.revoked_at = utcnow() - timedelta(days=1)
    db.session.commit()
    return audit.id


def _upload(key: str, hours: float, size: int = 1000) -> str:
    storage.save(key, b"c" * size, "text/csv", owner=("campaign", 1))
    _age(key, hours / 24)
    db.session.commit()
    return key


def _finished_run_with_logs(days: float, status: RunStatus = RunStatus.SUCCEEDED) -> int:
    run = runs.create("noop")
    run.status = status
    for i in range(3):
        db.session.add(RunLog(run_id=run.id, message=f"line {i}",
                              at=utcnow() - timedelta(days=days)))
    db.session.commit()
    return run.id


@pytest.fixture
def world(app):
    campaign = create_campaign("Shops", "shops", actor=SYSTEM)
    lead = create_lead(campaign, {"business_name": "Shop", "website_url": "https://shop.example/"},
                       actor=SYSTEM)
    db.session.commit()
    w = {
        "old": _audit(lead.id, 200),
        "published": _audit(lead.id, 400, published=True),
        "revoked": _audit(lead.id, 300, published=True, revoked=True),
        "recent": _audit(lead.id, 10),
        "stale_csv": _upload(f"imports/{campaign.id}/staletoken0000000000.csv", 30),
        "stale_name": _upload(f"imports/{campaign.id}/staletoken0000000000.name", 30, 12),
        "fresh_csv": _upload(f"imports/{campaign.id}/freshtoken0000000000.csv", 2),
        "report": _upload(f"imports/{campaign.id}/staletoken0000000000.report.json", 300),
        "old_logs": _finished_run_with_logs(100),
        "pending_logs": _finished_run_with_logs(100, RunStatus.PENDING),
        "recent_logs": _finished_run_with_logs(5),
    }
    db.session.remove()
    return w


def _run_upkeep() -> Run:
    run = runs.create("upkeep")
    db.session.commit()
    assert runs.execute(run.id) == "succeeded"
    db.session.rollback()
    return db.session.get(Run, run.id)


def _on_disk(app, key: str) -> bool:
    return (_root(app) / key).is_file()


def _shots(audit_id: int) -> dict[str, Any]:
    return db.session.get(Audit, audit_id).screenshots


def test_upkeep_removes_what_nothing_needs(app, world):
    run = _run_upkeep()
    r = run.result
    assert r["uploads"] == {"files": 2, "bytes": 1012}
    assert r["screenshots"] == {"files": 6, "bytes": 2 * FULL_BYTES, "audits": 2,
                                "kept_published": 0}
    assert r["log_lines"] == 3 and r["bytes_freed"] == 1012 + 2 * FULL_BYTES
    assert r["retention"] == {"uploads_hours": 24, "screenshots_days": 180, "logs_days": 90}

    # Unfinished uploads older than a day are gone, file and row; the rest stay.
    for name in ("stale_csv", "stale_name"):
        assert not _on_disk(app, world[name])
    for name in ("fresh_csv", "report"):
        assert _on_disk(app, world[name])
    # Full-size screenshots of old, unpublished (or revoked) audits: gone, and out of the
    # audit's index; thumbnails and crops stay, on disk and in the index.
    for name in ("old", "revoked"):
        aid = world[name]
        kept = {m["kind"] for m in _shots(aid).values()}
        assert kept == {"thumbnail", "annotated"}
        for shot, (kind, _w, _h) in SHOTS.items():
            assert _on_disk(app, f"audits/{aid}/{shot}") == (kind in ("thumbnail", "annotated"))
    # A published page's files, and recent audits' files, are all still there.
    for name in ("published", "recent"):
        for shot in SHOTS:
            assert _on_disk(app, f"audits/{world[name]}/{shot}")
        assert len(_shots(world[name])) == len(SHOTS)
    # Old log lines of finished runs go; a pending run's and recent ones stay.
    def lines(run_id):
        return db.session.scalar(select(func.count()).where(RunLog.run_id == run_id))
    assert lines(world["old_logs"]) == 0
    assert lines(world["pending_logs"]) == 3 and lines(world["recent_logs"]) == 3
    feed = db.session.scalars(select(Activity.summary).where(Activity.verb == "upkeep.done")).all()
    assert len(feed) == 1 and "6 full-size screenshot(s)" in feed[0]

    # Nothing left to do: a second run removes nothing and says so (no feed line).
    again = _run_upkeep().result
    assert again["bytes_freed"] == 0 and again["log_lines"] == 0
    assert db.session.scalar(select(func.count()).where(Activity.verb == "upkeep.done")) == 1


def test_published_audit_files_are_refused_whatever_selects_them(app, world):
    """The last guard: even handed a published audit's files directly, nothing goes."""
    from app.upkeep import operations

    rows = list(db.session.scalars(select(StoredFile).where(
        StoredFile.owner_type == "audit", StoredFile.owner_id == world["published"])))
    done = operations._remove(rows)
    db.session.commit()
    assert (done.files, done.kept) == (0, len(SHOTS))
    for shot in SHOTS:
        assert _on_disk(app, f"audits/{world['published']}/{shot}")


def test_retention_comes_from_config(app, world):
    app.config["SCREENSHOT_RETENTION_DAYS"] = 5
    app.config["RUN_LOG_RETENTION_DAYS"] = 1
    r = _run_upkeep().result
    assert r["screenshots"]["audits"] == 3  # the 10-day-old audit too; never the published
    assert r["log_lines"] == 6
    for shot in SHOTS:
        assert _on_disk(app, f"audits/{world['published']}/{shot}")


def test_many_files_go_in_batches(app, world, monkeypatch):
    from app.upkeep import jobs

    monkeypatch.setattr(jobs, "FILE_BATCH", 2)
    r = _run_upkeep().result
    assert r["uploads"]["files"] == 2 and r["screenshots"]["files"] == 6
    assert r["screenshots"]["audits"] == 2


def test_upkeep_is_started_periodically(app, huey):
    assert registry.PERIODIC["upkeep"] == "UPKEEP_INTERVAL_HOURS"

    def upkeep_runs(ids):
        return [i for i in ids if db.session.get(Run, i).kind == "upkeep"]

    now = utcnow()
    (first,) = upkeep_runs(periodic.start_due(now))
    run = db.session.get(Run, first)
    assert run.subject_type is None and run.enqueued_at
    assert (first,) in [t.args for t in huey.pending()]
    assert upkeep_runs(periodic.start_due(now + timedelta(hours=30))) == []  # one is pending
    runs.execute(first)
    assert upkeep_runs(periodic.start_due(now + timedelta(hours=1))) == []  # not due yet
    (second,) = upkeep_runs(periodic.start_due(now + timedelta(hours=25)))
    assert second != first


def test_worker_reaper_thread_starts_due_runs(app, huey):
    from app.jobs.worker import Reaper

    app.config["REAPER_INTERVAL_SECONDS"] = 0.05
    reaper = Reaper(app)
    reaper.start()
    try:
        import time

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = db.session.scalar(select(Run.id).where(Run.kind == "upkeep"))
            db.session.rollback()  # SQLite: no transaction (and its lock) held while waiting
            if found:
                break
            time.sleep(0.05)
    finally:
        reaper.stop.set()
        reaper.join(5)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(Run.kind == "upkeep")) == 1


@pytest.mark.browser
def test_runs_page_shows_the_figures_and_pages_keep_their_pictures(app, world, live_server,
                                                                  browser, create_user):
    """After the clean-up the Runs page says what it removed; an old audit's page shows
    its thumbnail instead of a missing full-size screenshot; a published one is whole."""
    import os
    import tempfile

    from playwright.sync_api import expect

    shots = Path(os.environ.get("PITCHFAST_SHOTS", Path(tempfile.gettempdir()) / "pitchfast-shots"))
    shots.mkdir(parents=True, exist_ok=True)
    removed = _run_upkeep().result["screenshots"]["files"]
    user = create_user(role="member")
    email = user.email
    db.session.remove()
    for width in (1366, 390):
        ctx = browser.new_context(viewport={"width": width, "height": 900},
                                  is_mobile=width < 500)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.on("response", lambda r, errors=errors: errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and "favicon" not in r.url else None)
        page.goto(f"{live_server}/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", "correct horse battery")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/")
        page.goto(f"{live_server}/runs/")
        card = page.locator("#upkeep")
        expect(card.locator("[data-figure=uploads]")).to_have_text("2")
        expect(card.locator("[data-figure=screenshots]")).to_have_text("6")
        expect(card.locator("[data-figure=log_lines]")).to_have_text("3")
        expect(card.locator("[data-figure=bytes_freed]")).to_contain_text("kB")
        expect(card).to_contain_text("last run")
        card.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"upkeep-runs-{width}.png"), full_page=True,
                        caret="initial")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        for name in ("old", "published"):
            page.goto(f"{live_server}/audits/{world[name]}")
            imgs = page.locator("#screenshots img")
            expect(imgs.first).to_be_visible()
            for i in range(imgs.count()):
                imgs.nth(i).scroll_into_view_if_needed()
                assert imgs.nth(i).evaluate("i => i.complete && i.naturalWidth > 0"), name
        links = page.locator("#screenshots a[href*='-full.jpg']")
        assert links.count() >= 1  # the published audit keeps its full-page captures
        assert errors == [], errors
        ctx.close()
    assert removed == 6
