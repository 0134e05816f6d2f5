"""purchase_orders.sent_at: when the buyer sent the order to the supplier (the rule of what a supplier sees)

Revision ID: vis_0001
Revises: 4cd172f4093e
Create Date: 2026-12-06 05:45:00

A supplier sees an order once the buyer has sent it (it entered the credit check), whatever becomes of it
afterwards; before that (draft, awaiting approval, sent back by an approver, cancelled before sending) it is the
buyer's alone. The status alone cannot tell a draft cancelled by the buyer from an order cancelled after sending,
so the moment of sending is kept.

Backfill: the first audit event that moved the order into (or out of) a state only a sent order reaches; without
one, orders in such a state (or placed, or numbered by the supplier) count as sent when placed (else submitted,
else created). Cancelled orders with no such trace stay unsent: the safe side. And the RFQ's "orders created"
event (it names the new draft orders) becomes the buyer's alone.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'vis_0001'
down_revision = '4cd172f4093e'
branch_labels = None
depends_on = None

# Every state an order reaches only after it was sent (all but draft, awaiting_approval and cancelled).
SENT_STATES = ("submitted", "placed", "credit_hold", "change_proposed", "acknowledged", "partially_shipped",
               "shipped", "received", "closed", "rejected")


def upgrade():
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))

    states = ", ".join(f"'{s}'" for s in SENT_STATES)
    op.execute(sa.text(f"""
        UPDATE purchase_orders SET sent_at = COALESCE(
            (SELECT MIN(a.at) FROM audit_events a
              WHERE a.entity_type = 'order' AND a.entity_id = purchase_orders.id
                AND (a.to_state IN ({states}) OR a.from_state IN ({states}))),
            CASE WHEN status IN ({states}) OR placed_at IS NOT NULL OR supplier_order_number IS NOT NULL
                 THEN COALESCE(placed_at, submitted_at, created_at) END)
        WHERE sent_at IS NULL
    """))
    # The RFQ's "orders created" event names the new orders, drafts the supplier must not see: the buyer's alone.
    op.execute(sa.text("""
        UPDATE audit_events SET visible_to_company_id = company_id
        WHERE entity_type = 'rfq' AND action = 'orders_created' AND visible_to_company_id IS NULL
    """))


def downgrade():
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.drop_column('sent_at')
