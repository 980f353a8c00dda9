"""Fixtures for campaigns and leads: campaigns, leads in bulk, CSV files, query counting,
and a stand-in "audit" handler (the real one lives in app/audits/jobs.py; the app
factory has registered it, so the stand-in replaces it and the real one is put back)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def make_campaign(app):
    """Factory: ``make_campaign(name="Dentists", slug=None)`` -> committed Campaign."""
    from app import activity
    from app.campaigns.operations import create_campaign

    def make(name: str = "Dentists in Leeds", slug: str | None = None, **kw: Any):
        campaign = create_campaign(name, slug, actor=activity.SYSTEM, **kw)
        db.session.commit()
        return campaign

    return make


@pytest.fixture
def campaign(make_campaign):
    return make_campaign("Dentists in Leeds", "dentists")


@pytest.fixture
def add_leads(app):
    """Factory: ``add_leads(campaign, n, **overrides)`` bulk-inserts n leads; returns their ids.

    Overrides may be callables of the index (``city=lambda i: ...``).
    """
    from app.models import Lead
    from app.models.base import utcnow

    def add(campaign, n: int, prefix: str = "biz", **overrides: Any) -> list[int]:
        now = utcnow()
        rows = []
        for i in range(n):
            row = {
                "campaign_id": campaign.id,
                "business_name": f"{prefix.title()} {i:05d}",
                "website_url": f"http://{prefix}{i}.example.com/",
                "domain": f"{prefix}{i}.example.com",
                "email": None,
                "city": None,
                "status": "new",
                "score": None,
                "notes": "",
                "extra": {},
                "created_at": now,
                "updated_at": now,
            }
            for key, value in overrides.items():
                row[key] = value(i) if callable(value) else value
            rows.append(row)
        db.session.execute(sa.insert(Lead.__table__), rows)
        db.session.commit()
        return list(
            db.session.scalars(
                sa.select(Lead.id)
                .where(Lead.campaign_id == campaign.id, Lead.domain.like(f"{prefix}%"))
                .order_by(Lead.id)
            )
        )

    return add


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE", "PRAGMA")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """``with count_queries() as q: ...`` then ``q.count`` (SQL statements sent)."""

    @contextlib.contextmanager
    def counting():
        counter = QueryCounter()
        sa.event.listen(db.engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", counter)

    return counting


@pytest.fixture
def audit_stand_in(app):
    """Register a stand-in handler for kind "audit" (marks the lead audited), removed after."""
    from app.jobs import registry

    previous = registry.HANDLERS.get("audit")

    @registry.handler("audit", max_attempts=1)
    def fake_audit(ctx):
        from app.models import Lead, LeadStatus, transition
        from app.models.base import utcnow

        if "fail" in ctx.payload["url"]:
            raise RuntimeError("site unreachable")
        with ctx.fenced():
            lead = db.session.get(Lead, ctx.subject_id)
            transition(lead, LeadStatus.AUDITED)
            lead.score, lead.audited_at = 42, utcnow()
            ctx.complete({"score": 42})
        return {"score": 42}

    yield fake_audit
    if previous is not None:
        registry.HANDLERS["audit"] = previous
    else:
        registry.HANDLERS.pop("audit", None)
