"""audit events keep their detail as a message id and figures (worded at display time)

Revision ID: i18nsvc_0001
Revises: onb_0001
Create Date: 2026-12-06 14:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "i18nsvc_0001"
down_revision = "perfpages_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_events", schema=None) as batch:
        batch.add_column(sa.Column("message", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("audit_events", schema=None) as batch:
        batch.drop_column("message")
