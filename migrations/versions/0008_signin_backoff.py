"""Sign-in throttling moves to the rate limiter: drop the hard lockout and the per-address
attempt log.

``users.failed_logins`` / ``users.locked_until`` (a lock anyone could trigger) and the
``login_attempts`` table are replaced by backoff over ``rate_events`` (0005) and a signed
device cookie. Columns are dropped with ``ALTER TABLE … DROP COLUMN`` (SQLite 3.35+),
never by copying ``users``: a copy would drop the table that sessions and activity point
to.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_login_attempts_ip_at", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_column("users", "locked_until")
    op.drop_column("users", "failed_logins")


def downgrade():
    op.add_column("users", sa.Column("failed_logins", sa.Integer(), nullable=False,
                                     server_default="0"))
    op.add_column("users", sa.Column("locked_until", sa.DateTime(), nullable=True))
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_attempts"),
    )
    op.create_index("ix_login_attempts_ip_at", "login_attempts", ["ip", "at"])
