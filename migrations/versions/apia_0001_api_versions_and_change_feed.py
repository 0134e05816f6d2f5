"""API versions on tokens; updated_at on notifications, awards and job records (the change feed)

Tokens that exist already were created under the first API version (money inputs as bare decimal strings):
they record it, so the integrations using them keep working. The new updated_at columns start from the last
moment known for each row.

Revision ID: apia_0001
Revises: perf_0001
Create Date: 2026-12-06 11:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'apia_0001'
down_revision = "i18nb_0001"
branch_labels = None
depends_on = None

# table -> the SQL expression the new updated_at starts from
BACKFILL = {
    'notifications': 'COALESCE(read_at, created_at)',
    'awards': 'COALESCE(orders_created_at, awarded_at)',
    'job_records': 'COALESCE(finished_at, started_at, created_at)',
}


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_version', sa.String(length=10), server_default='2026-11-01',
                                      nullable=False))
    for table, start in BACKFILL.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        op.execute(f'UPDATE {table} SET updated_at = {start}')
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('updated_at', existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade():
    for table in reversed(list(BACKFILL)):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('updated_at')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('api_version')
