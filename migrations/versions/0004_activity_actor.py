"""activity records an actor of a kind (user, api_key, system), not only a user id.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("activity") as batch:
        batch.add_column(sa.Column("actor_kind", sa.String(20), nullable=False,
                                   server_default="user"))
        batch.add_column(sa.Column("actor_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("actor_label", sa.String(120), nullable=False,
                                   server_default=""))
    op.execute("UPDATE activity SET actor_id = user_id")
    op.execute("UPDATE activity SET actor_kind = 'system' WHERE user_id IS NULL")
    op.execute(
        "UPDATE activity SET actor_label = COALESCE("
        "(SELECT email FROM users WHERE users.id = activity.user_id), 'PitchFast')"
    )


def downgrade():
    with op.batch_alter_table("activity") as batch:
        batch.drop_column("actor_label")
        batch.drop_column("actor_id")
        batch.drop_column("actor_kind")
