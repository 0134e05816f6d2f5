"""invoiced quantity kept on shipment lines, "to invoice" flag on shipments (and its index), backfilled

Revision ID: perf2_0001
Revises: perf_0001
Create Date: 2026-12-06 11:40:00

The backfill is the rule of portal/invoices/quantities.py (``invoiceable_lines``) frozen here in SQL, so that this
migration keeps working when the code moves on: per shipment line, what issued invoices charge against it
(+1 invoice, -1 credit note for an invoicing error, 0 other credit notes), plus the share of the per-order
invoices (lines without a shipment line), which cover the order line's shipment lines oldest first.
UPDATE ... FROM (PostgreSQL, SQLite >= 3.33): the window runs once, not once per row.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'perf2_0001'
down_revision = 'perf_0001'
branch_labels = None
depends_on = None

BACKFILL = """
WITH signed AS (
    SELECT il.shipment_line_id AS slid, il.order_line_id AS olid,
           il.quantity * (CASE WHEN i.kind = 'invoice' THEN 1
                               WHEN i.credit_reason IN ('invoicing_error') THEN -1 ELSE 0 END) AS q
    FROM invoice_lines il JOIN invoices i ON i.id = il.invoice_id
    WHERE i.status <> 'draft'
), by_sl AS (
    SELECT slid, SUM(q) AS q FROM signed WHERE slid IS NOT NULL GROUP BY slid
), by_order AS (
    SELECT olid, SUM(q) AS q FROM signed WHERE slid IS NULL AND olid IS NOT NULL GROUP BY olid
), own AS (
    SELECT sl.id, sl.shipment_id, sl.order_line_id,
           COALESCE(b.q, 0) AS own_invoiced,
           CASE WHEN sl.quantity - COALESCE(sl.rejected_quantity, 0) - COALESCE(b.q, 0) > 0
                THEN sl.quantity - COALESCE(sl.rejected_quantity, 0) - COALESCE(b.q, 0) ELSE 0 END AS own_open,
           COALESCE(o.q, 0) AS by_order
    FROM shipment_lines sl
    LEFT JOIN by_sl b ON b.slid = sl.id
    LEFT JOIN by_order o ON o.olid = sl.order_line_id
), base AS (
    SELECT id, own_invoiced, own_open,
           SUM(own_open) OVER (PARTITION BY order_line_id ORDER BY shipment_id, id) - by_order AS lft
    FROM own
), fresh AS (
    SELECT id, own_invoiced + own_open - (CASE WHEN lft <= 0 THEN 0 WHEN lft >= own_open THEN own_open
                                               ELSE lft END) AS invoiced
    FROM base
)
UPDATE shipment_lines SET invoiced_quantity = fresh.invoiced FROM fresh
WHERE fresh.id = shipment_lines.id AND fresh.invoiced <> 0
"""

FLAG = """
UPDATE shipments SET to_invoice = EXISTS (
    SELECT 1 FROM shipment_lines sl WHERE sl.shipment_id = shipments.id
    AND sl.quantity - COALESCE(sl.rejected_quantity, 0) - sl.invoiced_quantity > 0)
"""


def upgrade():
    with op.batch_alter_table('shipment_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invoiced_quantity', sa.Numeric(precision=18, scale=4), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('to_invoice', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index('ix_shipments_to_invoice', ['supplier_company_id', 'to_invoice', 'id'], unique=False)
    op.execute(BACKFILL)
    op.execute(FLAG)


def downgrade():
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index('ix_shipments_to_invoice')
        batch_op.drop_column('to_invoice')
    with op.batch_alter_table('shipment_lines', schema=None) as batch_op:
        batch_op.drop_column('invoiced_quantity')
