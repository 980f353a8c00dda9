"""one active run per subject: a partial unique index on runs.

Two requests racing to audit the same lead (a double click, two people, a retry from the
Runs page) could each queue a run on PostgreSQL; the database now refuses the second.
Any duplicates already present are settled first: per kind and subject the running run
(or else the newest pending one) is kept and the others are canceled.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('pending', 'running') AND subject_id IS NOT NULL"


def upgrade():
    op.execute(
        f"""UPDATE runs SET status = 'canceled', lease_token = NULL, lease_expires_at = NULL,
               finished_at = CURRENT_TIMESTAMP, error_code = 'canceled',
               error = 'Canceled: another run of the same kind for this subject was active.'
        WHERE {ACTIVE} AND id NOT IN (
            SELECT COALESCE(MAX(CASE WHEN status = 'running' THEN id END), MAX(id))
            FROM runs WHERE {ACTIVE} GROUP BY kind, subject_type, subject_id)"""
    )
    op.create_index(
        "ux_runs_one_active_per_subject",
        "runs",
        ["kind", "subject_type", "subject_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )


def downgrade():
    op.drop_index("ux_runs_one_active_per_subject", table_name="runs")
