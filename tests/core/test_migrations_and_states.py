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
    with pytest.raises(InvalidTransition, match="from audited to contacted"):
        transition(lead, LeadStatus.CONTACTED)
    assert lead.status == LeadStatus.AUDITED
    transition(lead, LeadStatus.BLACKLISTED)  # from anywhere
    with pytest.raises(InvalidTransition):
        transition(lead, LeadStatus.NEW)


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
