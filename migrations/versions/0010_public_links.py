"""public_links: public audit links (issue 10).

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "public_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("view_count", sa.Integer(), nullable=False),
        sa.Column("first_viewed_at", sa.DateTime(), nullable=True),
        sa.Column("last_viewed_at", sa.DateTime(), nullable=True),
        sa.Column("frozen", sa.JSON(), nullable=False),
        sa.Column("pdf_key", sa.String(300), nullable=True),
        sa.Column("pdf_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"],
                                name="fk_public_links_lead_id_leads", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["audit_id"], ["audits.id"],
                                name="fk_public_links_audit_id_audits", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_public_links"),
        sa.UniqueConstraint("lead_id", name="uq_public_links_lead_id"),
        sa.UniqueConstraint("token_hash", name="uq_public_links_token_hash"),
    )
    op.create_table(
        "public_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("visitor", sa.String(64), nullable=False),
        sa.Column("viewed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["public_links.id"],
                                name="fk_public_views_link_id_public_links",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_public_views"),
    )
    op.create_index("ix_public_views_link_visitor_at", "public_views",
                    ["link_id", "visitor", "viewed_at"])
    op.create_index("ix_public_views_viewed_at", "public_views", ["viewed_at"])


def downgrade():
    op.drop_index("ix_public_views_viewed_at", table_name="public_views")
    op.drop_index("ix_public_views_link_visitor_at", table_name="public_views")
    op.drop_table("public_views")
    op.drop_table("public_links")
