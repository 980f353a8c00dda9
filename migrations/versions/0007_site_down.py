"""leads.site_down: the lead's latest finished audit found its site down for every visitor.

Audits of such a site finish with status "site_down" (a value of the existing VARCHAR
audit status, no change there); the lead keeps a flag for the leads list's "site down"
filter, indexed like the other filters of a campaign's leads.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (SQLite supports it with a default): no table rebuild, so the
    # leads' full-text triggers stay as they are.
    op.add_column(
        "leads",
        sa.Column("site_down", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_leads_campaign_site_down_id", "leads", ["campaign_id", "site_down", "id"])


def downgrade():
    op.drop_index("ix_leads_campaign_site_down_id", table_name="leads")
    with op.batch_alter_table("leads") as batch_op:
        batch_op.drop_column("site_down")
