"""One migration history brings an empty database to head, matching the models;
status transitions are checked in one place."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db
from app.models import (
    Campaign,
    CampaignStatus,
    InvalidTransition,
    Lead,
    LeadStatus,
    RunStatus,
    transition,
)
from app.models.states import LEAD_TRANSITIONS, can_transition


def test_migrated_schema_matches_models(app):
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, db.metadata)
    # FTS/search objects created by hand-written revisions are not in the models.
    diff = [d for d in diff if "search" not in str(d) and "fts" not in str(d).lower()]
    assert diff == [], f"models and migrations disagree: {diff}"


def test_migration_head_is_applied(app):
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    assert current == script.get_current_head()


def test_lead_state_machine_refuses_illegal_moves(app):
    campaign = Campaign(name="Dentists", slug="dentists")
    db.session.add(campaign)
    db.session.flush()
    lead = Lead(campaign_id=campaign.id, business_name="Smile", status=LeadStatus.NEW)
    transition(lead, LeadStatus.QUEUED)
    transition(lead, LeadStatus.AUDITED)
    with pytest.raises(InvalidTransition, match="from audited to approved"):
        transition(lead, LeadStatus.APPROVED)
    assert lead.status == LeadStatus.AUDITED
    transition(lead, LeadStatus.CONTACTED)  # the sales stages: from anywhere
    transition(lead, LeadStatus.BLACKLISTED)  # from anywhere
    with pytest.raises(InvalidTransition):
        transition(lead, LeadStatus.DRAFTED)


def test_every_lead_status_can_reach_unsubscribed_and_blacklisted():
    for status in LEAD_TRANSITIONS:
        if status in (LeadStatus.UNSUBSCRIBED, LeadStatus.BLACKLISTED):
            continue
        assert can_transition(status, LeadStatus.UNSUBSCRIBED)
        assert can_transition(status, LeadStatus.BLACKLISTED)


def test_run_and_campaign_transitions():
    assert can_transition(RunStatus.PENDING, RunStatus.RUNNING)
    assert not can_transition(RunStatus.SUCCEEDED, RunStatus.PENDING)
    assert not can_transition(CampaignStatus.DRAFT, CampaignStatus.PAUSED)
    assert can_transition(CampaignStatus.ACTIVE, CampaignStatus.PAUSED)


def test_enum_column_rejects_unknown_values(app):
    campaign = Campaign(name="X", slug="x")
    db.session.add(campaign)
    db.session.flush()
    db.session.add(Lead(campaign_id=campaign.id, business_name="Y", status="bogus"))
    with pytest.raises(sa.exc.StatementError, match="bogus"):
        db.session.flush()
    db.session.rollback()


def test_migration_0003_settles_duplicate_active_runs(app):
    """Installs with duplicate active runs (possible before 0003 on PostgreSQL) upgrade:
    per kind and subject the running run, else the newest, is kept; the rest canceled."""
    from flask_migrate import downgrade, upgrade

    db.session.remove()
    downgrade(revision="0002")
    try:
        rows = [("audit", 7, "running"), ("audit", 7, "pending"), ("audit", 8, "pending"),
                ("audit", 8, "pending"), ("audit", 9, "failed"), ("audit", 9, "pending")]
        with db.engine.begin() as conn:
            for kind, subject, status in rows:
                conn.execute(sa.text(
                    "INSERT INTO runs (kind, subject_type, subject_id, status, attempt, "
                    "max_attempts, payload, result, created_at) VALUES (:k, 'lead', :s, :st, "
                    "0, 3, '{}', '{}', CURRENT_TIMESTAMP)"),
                    {"k": kind, "s": subject, "st": status})
    finally:
        upgrade()
    got = db.session.execute(
        sa.text("SELECT subject_id, status, finished_at IS NOT NULL FROM runs ORDER BY id")
    ).all()
    assert [tuple(r) for r in got] == [
        (7, "running", False), (7, "canceled", True),  # the running one is kept
        (8, "canceled", True), (8, "pending", False),  # else the newest
        (9, "failed", False), (9, "pending", False),  # a single active run is untouched
    ]


def test_unique_violations_are_told_apart_from_other_constraint_failures(app):
    from app.errors import _unique_violation
    from app.models import User

    db.session.add(User(email="twice@example.com", password_hash="x"))
    db.session.commit()
    db.session.add(User(email="twice@example.com", password_hash="x"))
    with pytest.raises(sa.exc.IntegrityError) as unique:
        db.session.commit()
    db.session.rollback()
    with pytest.raises(sa.exc.IntegrityError) as not_null:
        db.session.execute(sa.text("INSERT INTO users (email) VALUES (NULL)"))
    db.session.rollback()
    assert _unique_violation(unique.value) and not _unique_violation(not_null.value)
