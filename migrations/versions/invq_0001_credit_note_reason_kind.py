"""credit notes carry a reason kind (returned, rejected at receipt, invoicing mistake, other)

Revision ID: invq_0001
Revises: 4cd172f4093e
Create Date: 2026-12-06 05:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'invq_0001'
down_revision = 'appr_0001'
branch_labels = None
depends_on = None

CHECK = ("(kind = 'invoice' AND credit_reason IS NULL) OR (kind = 'credit_note' AND credit_reason IN "
         "('returned', 'rejected_at_receipt', 'invoicing_error', 'other'))")


def upgrade():
    # Only a credit note for an invoicing mistake makes its quantities invoiceable again; credit notes issued
    # before the kind existed did not say why, so they count as 'other' (their goods stay invoiced).
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_reason', sa.String(length=24), nullable=True))
    op.execute("UPDATE invoices SET credit_reason = 'other' WHERE kind = 'credit_note'")
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_invoices_credit_reason_kind'), CHECK)


def downgrade():
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_invoices_credit_reason_kind'), type_='check')
        batch_op.drop_column('credit_reason')
