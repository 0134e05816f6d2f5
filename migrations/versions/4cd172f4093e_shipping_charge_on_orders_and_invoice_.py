"""shipping charge on orders and invoice lines

Revision ID: 4cd172f4093e
Revises: bcb1faf89839
Create Date: 2026-12-01 18:32:06.581913

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4cd172f4093e'
down_revision = 'bcb1faf89839'
branch_labels = None
depends_on = None


def upgrade():
    # Freight quoted by the supplier travels from the award into the order (part of its net total) and is
    # billed once, as an invoice line with charge = 'shipping'.
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('charge', sa.String(length=16), nullable=True))
        batch_op.create_check_constraint(op.f('ck_invoice_lines_charge_kind'), "charge IS NULL OR charge = 'shipping'")

    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shipping_amount', sa.Numeric(precision=18, scale=4), server_default='0', nullable=False))
        batch_op.create_check_constraint(op.f('ck_purchase_orders_shipping_nonneg'), 'shipping_amount >= 0')


def downgrade():
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_purchase_orders_shipping_nonneg'), type_='check')
        batch_op.drop_column('shipping_amount')

    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_invoice_lines_charge_kind'), type_='check')
        batch_op.drop_column('charge')
