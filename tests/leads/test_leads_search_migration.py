"""Revision 0002 (full-text search) goes down and up again, and the index follows
inserts, edits and deletes on either database."""

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app.extensions import db
from app.leads.queries import page
from app.leads.search import LeadFilter
from app.models import Lead


def _found(campaign, q):
    return sorted(r.business_name for r in page(campaign.id, LeadFilter(q=q)).rows)


def test_index_follows_insert_update_delete(campaign, add_leads):
    ids = add_leads(
        campaign, 3, business_name=lambda i: ["Alpha Dental", "Beta Dental", "Gamma"][i]
    )
    assert _found(campaign, "dental") == ["Alpha Dental", "Beta Dental"]
    db.session.get(Lead, ids[2]).business_name = "Gamma Dental"
    db.session.commit()
    assert _found(campaign, "dental") == ["Alpha Dental", "Beta Dental", "Gamma Dental"]
    db.session.execute(sa.delete(Lead).where(Lead.id == ids[0]))
    db.session.commit()
    assert _found(campaign, "dental") == ["Beta Dental", "Gamma Dental"]
    assert _found(campaign, "alpha") == []


def test_revision_0002_downgrades_and_rebuilds(app, campaign, add_leads):
    add_leads(campaign, 2, business_name=lambda i: f"Zeta {i}")
    db.session.remove()
    downgrade(revision="0001")
    upgrade()
    assert _found(campaign, "zeta") == ["Zeta 0", "Zeta 1"]
