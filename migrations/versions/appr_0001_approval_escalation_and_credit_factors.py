"""approval escalation setting and record; credit check factors

Revision ID: appr_0001
Revises: 4cd172f4093e
Create Date: 2026-12-06 05:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'appr_0001'
down_revision = 'vis_0001'
branch_labels = None
depends_on = None


def upgrade():
    # Orders waiting for approval longer than N working days are escalated to the company's admins (default 3).
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval_escalation_days', sa.Integer(), server_default='3', nullable=False))
        batch_op.create_check_constraint(op.f('ck_companies_escalation_days_range'),
                                         'approval_escalation_days BETWEEN 1 AND 30')

    # One escalation per order and wait (the order's submitted_at); the unique constraint refuses a second one.
    op.create_table('approval_escalations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['purchase_orders.id'],
                            name=op.f('fk_approval_escalations_order_id_purchase_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_escalations')),
    sa.UniqueConstraint('order_id', 'waiting_since', name='uq_approval_escalations_wait')
    )

    # A credit check keeps each factor with its figures (structured), besides the sentence.
    with op.batch_alter_table('credit_checks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('factors', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('credit_checks', schema=None) as batch_op:
        batch_op.drop_column('factors')

    op.drop_table('approval_escalations')

    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_companies_escalation_days_range'), type_='check')
        batch_op.drop_column('approval_escalation_days')
