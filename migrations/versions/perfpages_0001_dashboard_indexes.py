"""indexes for the dashboards' bounded look-ups: the buyer's overdue invoices and the invoices to approve

Revision ID: perfpages_0001
Revises: onb_0001
Create Date: 2026-12-06 14:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'perfpages_0001'
down_revision = 'budgetpo_0001'
branch_labels = None
depends_on = None

TO_APPROVE = "kind = 'invoice' AND status IN ('issued', 'partially_paid') AND approved_for_payment_at IS NULL"


def upgrade():
    op.create_index('ix_invoices_buyer_status_due', 'invoices', ['buyer_company_id', 'status', 'due_date'])
    op.create_index('ix_invoices_buyer_to_approve', 'invoices', ['buyer_company_id', 'due_date', 'id'],
                    postgresql_where=sa.text(TO_APPROVE), sqlite_where=sa.text(TO_APPROVE))


def downgrade():
    op.drop_index('ix_invoices_buyer_to_approve', table_name='invoices')
    op.drop_index('ix_invoices_buyer_status_due', table_name='invoices')
