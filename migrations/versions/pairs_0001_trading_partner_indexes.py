"""indexes for reading a company's trading partners by skip scan (invoice filters, credit pages, dashboards)

Revision ID: pairs_0001
Revises: fxrates_0001
Create Date: 2026-12-06 18:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'pairs_0001'
down_revision = 'fxrates_0001'
branch_labels = None
depends_on = None

SENT = "sent_at IS NOT NULL"


def upgrade():
    op.create_index('ix_invoices_supplier_buyer', 'invoices', ['supplier_company_id', 'buyer_company_id'])
    op.create_index('ix_invoices_buyer_supplier', 'invoices', ['buyer_company_id', 'supplier_company_id'])
    op.create_index('ix_purchase_orders_supplier_buyer_sent', 'purchase_orders',
                    ['supplier_company_id', 'buyer_company_id'],
                    postgresql_where=sa.text(SENT), sqlite_where=sa.text(SENT))
    op.create_index('ix_purchase_orders_buyer_supplier', 'purchase_orders', ['buyer_company_id', 'supplier_company_id'])


def downgrade():
    op.drop_index('ix_purchase_orders_buyer_supplier', table_name='purchase_orders')
    op.drop_index('ix_purchase_orders_supplier_buyer_sent', table_name='purchase_orders')
    op.drop_index('ix_invoices_buyer_supplier', table_name='invoices')
    op.drop_index('ix_invoices_supplier_buyer', table_name='invoices')
