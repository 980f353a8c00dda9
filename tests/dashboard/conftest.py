"""Fixtures of the dashboard-wide tests: a signed-in real browser, a campaign with leads,
and runs for people (audits of those leads) beside internal ones."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db

PW = "correct horse battery"
SHOTS = Path(os.environ.get("PITCHFAST_SHOTS", Path(tempfile.gettempdir()) / "pitchfast-shots"))


@pytest.fixture
def campaign(app: Any) -> Any:
    from app import activity
    from app.campaigns.operations import create_campaign

    c = create_campaign("Dentists in Leeds", "dentists", actor=activity.SYSTEM)
    db.session.commit()
    return c


@pytest.fixture
def add_leads(app: Any) -> Any:
    """``add_leads(campaign, n, **overrides)``: bulk-inserted leads; their ids in order."""
    from app.models import Lead
    from app.models.base import utcnow

    def add(campaign: Any, n: int, prefix: str = "biz", **overrides: Any) -> list[int]:
        now = utcnow()
        rows = []
        for i in range(n):
            row = {"campaign_id": campaign.id, "business_name": f"{prefix.title()} {i:05d}",
                   "website_url": f"http://{prefix}{i}.example.com/",
                   "domain": f"{prefix}{i}.example.com", "email": None, "city": None,
                   "status": "new", "score": None, "notes": "", "extra": {},
                   "created_at": now, "updated_at": now}
            for key, value in overrides.items():
                row[key] = value(i) if callable(value) else value
            rows.append(row)
        db.session.execute(sa.insert(Lead.__table__), rows)
        db.session.commit()
        return list(db.session.scalars(
            sa.select(Lead.id).where(Lead.campaign_id == campaign.id,
                                     Lead.domain.like(f"{prefix}%")).order_by(Lead.id)))

    return add


@pytest.fixture
def signed_in(browser: Any, live_server: str, create_user: Any) -> Any:
    """``signed_in(role="member", width=1366)`` → a Playwright page signed in; page errors
    (script errors, CSP refusals) are collected in ``page.errors``."""
    contexts: list[Any] = []

    def open_page(role: str = "member", width: int = 1366, email: str | None = None) -> Any:
        user = create_user(role=role, email=email)
        address = user.email
        db.session.remove()  # no transaction open while the server thread works
        ctx = browser.new_context(viewport={"width": width, "height": 900 if width > 500 else 844},
                                  is_mobile=width <= 500)
        contexts.append(ctx)
        page = ctx.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.on("console", lambda m: page.errors.append(m.text) if m.type == "error"
                and "favicon" not in m.text else None)
        page.goto(f"{live_server}/login")
        page.fill("input[name=email]", address)
        page.fill("input[name=password]", PW)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/")
        return page

    yield open_page
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def shots() -> Iterator[Path]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield SHOTS


@pytest.fixture
def audit_stand_in(app: Any) -> Iterator[Any]:
    """A stand-in "audit" handler (no browser): the lead gets score 42. The real one is put
    back afterwards."""
    from app.jobs import registry

    previous = registry.HANDLERS.get("audit")

    @registry.handler("audit", max_attempts=1)
    def fake_audit(ctx: Any) -> dict[str, Any]:
        from app.models import Lead

        with ctx.fenced():
            lead = db.session.get(Lead, ctx.subject_id)
            lead.score = 42
            ctx.complete({"score": 42})
        return {"score": 42}

    yield fake_audit
    if previous is not None:
        registry.HANDLERS["audit"] = previous
