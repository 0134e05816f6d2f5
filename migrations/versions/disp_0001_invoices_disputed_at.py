"""invoices carry disputed_at while the buyer disputes them

Revision ID: disp_0001
Revises: invq_0001
Create Date: 2026-12-06 08:30:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'disp_0001'
down_revision = 'invq_0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disputed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('disputed_at')
