"""idempotency keys belong to a token, a method and a path; replays keep the content type and Location

Revision ID: apic_0001
Revises: einv_0001
Create Date: 2026-12-06 08:40:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'apic_0001'
down_revision = 'einv_0001'
branch_labels = None
depends_on = None


def upgrade():
    # Stored answers under the old scope (user + key) cannot be attributed to a token: they are dropped (they
    # only serve retries of the last few minutes).
    op.execute("DELETE FROM idempotency_records")
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.drop_constraint('uq_idempotency_records_user_key', type_='unique')
        batch_op.add_column(sa.Column('token_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('content_type', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('response_headers', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_idempotency_records_token_id_api_tokens'), 'api_tokens',
                                    ['token_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_idempotency_records_token_id'), ['token_id'], unique=False)
        batch_op.create_unique_constraint('uq_idempotency_records_token_method_path_key',
                                          ['token_id', 'method', 'path', 'key'])


def downgrade():
    op.execute("DELETE FROM idempotency_records")
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.drop_constraint('uq_idempotency_records_token_method_path_key', type_='unique')
        batch_op.drop_index(batch_op.f('ix_idempotency_records_token_id'))
        batch_op.drop_constraint(batch_op.f('fk_idempotency_records_token_id_api_tokens'), type_='foreignkey')
        batch_op.drop_column('response_headers')
        batch_op.drop_column('content_type')
        batch_op.drop_column('token_id')
        batch_op.create_unique_constraint('uq_idempotency_records_user_key', ['user_id', 'key'])
