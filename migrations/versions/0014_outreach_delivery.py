"""outreach_delivery: outreach sending, pacing and unsubscribe (issue 12).

Adds to ``outreach`` what sending needs: the slot the dispatcher gave a message (counted
by the daily, per-domain and spacing limits), its recipient's domain, when it went to
``sending`` and by which attempt, the exact bytes handed to the SMTP server and the
server's answer. Adds to ``campaigns`` the pacing (daily cap, per-recipient-domain cap,
minimum spacing, sending window in the campaign's time zone) and the automatic pause
after repeated SMTP failures (``paused_at``, ``paused_reason``, the failure streak).
Indexes ``outreach(recipient, status)`` and ``leads(email)`` for lookups by address
(unsubscribe, bounces).

Plain ADD COLUMNs (no table copy): ``outreach`` is referenced by its events.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _outreach():
    return (
        sa.Column("slot_at", sa.DateTime(), nullable=True),
        sa.Column("recipient_domain", sa.String(253), nullable=True),
        sa.Column("sending_at", sa.DateTime(), nullable=True),
        sa.Column("send_token", sa.String(64), nullable=True),
        sa.Column("sent_raw", sa.LargeBinary(), nullable=True),
        sa.Column("smtp_response", sa.String(500), nullable=True),
    )


def _campaigns():
    return (
        sa.Column("daily_cap", sa.Integer(), nullable=True),
        sa.Column("domain_daily_cap", sa.Integer(), nullable=True),
        sa.Column("min_spacing_seconds", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("send_window_start", sa.Integer(), nullable=True),
        sa.Column("send_window_end", sa.Integer(), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
        sa.Column("paused_at", sa.DateTime(), nullable=True),
        sa.Column("paused_reason", sa.String(500), nullable=True),
        sa.Column("smtp_failures", sa.Integer(), nullable=False, server_default="0"),
    )


def upgrade():
    for column in _outreach():
        op.add_column("outreach", column)
    op.create_index("ix_outreach_slot_at", "outreach", ["slot_at"])
    # The unsubscribe and bounce paths look messages and leads up by address.
    op.create_index("ix_outreach_recipient_status", "outreach", ["recipient", "status"])
    op.create_index("ix_leads_email", "leads", ["email"])
    for column in _campaigns():
        op.add_column("campaigns", column)


def downgrade():
    # Plain DROP COLUMNs (SQLite >= 3.35, PostgreSQL): a batch copy would DROP TABLE
    # campaigns, which leads reference (SQLite refuses it as "database table is locked",
    # and with foreign keys on it would cascade to the leads).
    for column in reversed(_campaigns()):
        op.drop_column("campaigns", column.name)
    op.drop_index("ix_leads_email", table_name="leads")
    op.drop_index("ix_outreach_recipient_status", table_name="outreach")
    op.drop_index("ix_outreach_slot_at", table_name="outreach")
    for column in reversed(_outreach()):
        op.drop_column("outreach", column.name)
