"""indexes for the list pages' status filter in id order (keyset pages)

Revision ID: perf_0001
Revises: chg_0001
Create Date: 2026-12-06 09:10:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'perf_0001'
down_revision = 'chg_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_invoices_buyer_status_id', 'invoices', ['buyer_company_id', 'status', 'id'])
    op.create_index('ix_invoices_supplier_status_id', 'invoices', ['supplier_company_id', 'status', 'id'])
    op.create_index('ix_purchase_orders_supplier_status_id', 'purchase_orders',
                    ['supplier_company_id', 'status', 'id'])


def downgrade():
    op.drop_index('ix_purchase_orders_supplier_status_id', table_name='purchase_orders')
    op.drop_index('ix_invoices_supplier_status_id', table_name='invoices')
    op.drop_index('ix_invoices_buyer_status_id', table_name='invoices')
