"""order budget overrides: a cost-centre owner's approval of a purchase order over budget

Revision ID: budgetpo_0001
Revises: onb_0001
Create Date: 2026-12-06 14:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "budgetpo_0001"
down_revision = "onb_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "order_budget_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=False),
        sa.Column("cost_centre_id", sa.Integer(), nullable=False),
        sa.Column("approver_id", sa.Integer(), nullable=False),
        sa.Column("counts_as_approval", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["approval_id"], ["order_approvals.id"],
                                name=op.f("fk_order_budget_overrides_approval_id_order_approvals"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["approver_id"], ["users.id"], name=op.f("fk_order_budget_overrides_approver_id_users")),
        sa.ForeignKeyConstraint(["cost_centre_id"], ["cost_centres.id"],
                                name=op.f("fk_order_budget_overrides_cost_centre_id_cost_centres")),
        sa.ForeignKeyConstraint(["order_id"], ["purchase_orders.id"],
                                name=op.f("fk_order_budget_overrides_order_id_purchase_orders"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_budget_overrides")),
        sa.UniqueConstraint("approval_id", "cost_centre_id", name="uq_order_budget_overrides_step"),
    )
    with op.batch_alter_table("order_budget_overrides", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_budget_overrides_order_id"), ["order_id"], unique=False)


def downgrade():
    with op.batch_alter_table("order_budget_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_budget_overrides_order_id"))
    op.drop_table("order_budget_overrides")
