"""outreach_authoring: outreach templates, drafts and approval (issue 12).

Adds the per-campaign templates (one per step and variant), the outreach status history,
what an outreach row needs up to approval (template, step, the message it follows up, the
sender fixed at approval, the approved fingerprint, replied_at), the campaign's follow-up
delay and a free-text note on do-not-contact entries.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_STATUS = ("draft", "pending_approval", "approved", "queued", "sending", "sent", "failed",
           "canceled", "unknown")


def _status(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, sa.Enum(*_STATUS, name="outreachstatus", native_enum=False,
                                   length=20, create_constraint=False), nullable=nullable)


def upgrade():
    op.create_table(
        "outreach_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("variant", sa.Enum("standard", "site_down", name="templatevariant",
                                     native_enum=False, length=20, create_constraint=False),
                  nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name="fk_outreach_templates_campaign_id_campaigns",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"],
                                name="fk_outreach_templates_updated_by_id_users",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_outreach_templates"),
        sa.UniqueConstraint("campaign_id", "step", "variant",
                            name="uq_outreach_templates_campaign_step_variant"),
    )
    with op.batch_alter_table("outreach") as batch_op:
        batch_op.add_column(sa.Column("template_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("step", sa.Integer(), nullable=False,
                                      server_default="1"))
        batch_op.add_column(sa.Column("follows_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("sender_name", sa.String(120), nullable=True))
        batch_op.add_column(sa.Column("sender_email", sa.String(254), nullable=True))
        batch_op.add_column(sa.Column("approved_fingerprint", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("replied_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key("fk_outreach_template_id_outreach_templates",
                                    "outreach_templates", ["template_id"], ["id"],
                                    ondelete="SET NULL")
        batch_op.create_foreign_key("fk_outreach_follows_id_outreach", "outreach",
                                    ["follows_id"], ["id"], ondelete="SET NULL")
        batch_op.create_index("ix_outreach_follows_id", ["follows_id"])
    op.create_table(
        "outreach_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outreach_id", sa.Integer(), nullable=False),
        _status("from_status", True),
        _status("to_status", False),
        sa.Column("actor_kind", sa.String(20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(120), nullable=False),
        sa.Column("note", sa.String(1000), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["outreach_id"], ["outreach.id"],
                                name="fk_outreach_events_outreach_id_outreach",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_outreach_events"),
    )
    op.create_index("ix_outreach_events_outreach_id_id", "outreach_events",
                    ["outreach_id", "id"])
    # Plain ADD COLUMNs: no rebuild of campaigns or blacklist_entries.
    op.add_column("campaigns", sa.Column("follow_up_days", sa.Integer(), nullable=True))
    op.add_column("blacklist_entries",
                  sa.Column("note", sa.String(500), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("blacklist_entries") as batch_op:
        batch_op.drop_column("note")
    op.drop_column("campaigns", "follow_up_days")  # no table copy: leads reference campaigns
    op.drop_index("ix_outreach_events_outreach_id_id", table_name="outreach_events")
    op.drop_table("outreach_events")
    with op.batch_alter_table("outreach") as batch_op:
        batch_op.drop_index("ix_outreach_follows_id")
        batch_op.drop_constraint("fk_outreach_follows_id_outreach", type_="foreignkey")
        batch_op.drop_constraint("fk_outreach_template_id_outreach_templates",
                                 type_="foreignkey")
        for name in ("updated_at", "replied_at", "approved_fingerprint", "sender_email",
                     "sender_name", "follows_id", "step", "template_id"):
            batch_op.drop_column(name)
    op.drop_table("outreach_templates")
