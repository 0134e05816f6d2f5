"""purchase order changes: editable drafts (internal notes, cost references), change orders with per-line
decisions, supplier price proposals, short-closed quantities and PO revisions

Revision ID: chg_0001
Revises: hooks_0001
Create Date: 2026-12-06 08:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'chg_0001'
down_revision = 'hooks_0001'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=18, scale=4)


def upgrade():
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('internal_notes', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proposed_unit_price', MONEY, nullable=True))
        batch_op.add_column(sa.Column('cost_reference', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('short_closed_quantity', MONEY, server_default='0', nullable=False))
        batch_op.add_column(sa.Column('short_close_reason', sa.String(length=500), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_order_lines_short_closed_within'),
            'short_closed_quantity >= 0 AND shipped_quantity + short_closed_quantity <= quantity')
        batch_op.create_check_constraint(op.f('ck_order_lines_proposed_price_nonneg'),
                                         'proposed_unit_price IS NULL OR proposed_unit_price >= 0')

    op.create_table('order_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('origin', sa.Enum('buyer', 'supplier', name='changeorigin', native_enum=False, length=16), nullable=False),
    sa.Column('status', sa.Enum('awaiting_approval', 'credit_hold', 'proposed', 'decided', 'withdrawn', 'superseded',
                                name='changestatus', native_enum=False, length=24), nullable=False),
    sa.Column('base_revision', sa.Integer(), nullable=False),
    sa.Column('delivery_date_old', sa.Date(), nullable=True),
    sa.Column('delivery_date_new', sa.Date(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('old_total', MONEY, nullable=False),
    sa.Column('new_total', MONEY, nullable=False),
    sa.Column('approvals_required', sa.Integer(), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revision_number', sa.Integer(), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('approvals_required BETWEEN 0 AND 5', name=op.f('ck_order_changes_approvals_range')),
    sa.CheckConstraint('old_total >= 0 AND new_total >= 0', name=op.f('ck_order_changes_totals_nonneg')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_order_changes_decided_by_id_users')),
    sa.ForeignKeyConstraint(['order_id'], ['purchase_orders.id'], name=op.f('fk_order_changes_order_id_purchase_orders'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], name=op.f('fk_order_changes_proposed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_changes')),
    sa.UniqueConstraint('order_id', 'number', name='uq_order_changes_number')
    )
    with op.batch_alter_table('order_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_changes_order_id'), ['order_id'], unique=False)

    op.create_table('order_change_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('change_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('update', 'add', 'cancel', name='changekind', native_enum=False, length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('catalog_item_id', sa.Integer(), nullable=True),
    sa.Column('sku', sa.String(length=64), nullable=True),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('old_quantity', MONEY, nullable=True),
    sa.Column('new_quantity', MONEY, nullable=True),
    sa.Column('old_date', sa.Date(), nullable=True),
    sa.Column('new_date', sa.Date(), nullable=True),
    sa.Column('old_unit_price', MONEY, nullable=True),
    sa.Column('new_unit_price', MONEY, nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('decision', sa.Enum('pending', 'accepted', 'rejected', name='linedecision', native_enum=False, length=16),
              nullable=False),
    sa.Column('decision_reason', sa.String(length=500), nullable=True),
    sa.CheckConstraint('new_quantity IS NULL OR new_quantity >= 0', name=op.f('ck_order_change_lines_new_quantity_nonneg')),
    sa.CheckConstraint('new_unit_price IS NULL OR new_unit_price >= 0', name=op.f('ck_order_change_lines_new_price_nonneg')),
    sa.ForeignKeyConstraint(['catalog_item_id'], ['catalog_items.id'],
                            name=op.f('fk_order_change_lines_catalog_item_id_catalog_items')),
    sa.ForeignKeyConstraint(['change_id'], ['order_changes.id'], name=op.f('fk_order_change_lines_change_id_order_changes'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'],
                            name=op.f('fk_order_change_lines_order_line_id_order_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_change_lines'))
    )
    with op.batch_alter_table('order_change_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_change_lines_change_id'), ['change_id'], unique=False)

    op.create_table('order_change_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('change_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('approver_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=10), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("decision IN ('approved', 'rejected')", name=op.f('ck_order_change_approvals_decision_known')),
    sa.ForeignKeyConstraint(['approver_id'], ['users.id'], name=op.f('fk_order_change_approvals_approver_id_users')),
    sa.ForeignKeyConstraint(['change_id'], ['order_changes.id'],
                            name=op.f('fk_order_change_approvals_change_id_order_changes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_change_approvals')),
    sa.UniqueConstraint('change_id', 'step', name='uq_order_change_approvals_step')
    )

    op.create_table('order_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('total_net', MONEY, nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('change_id', sa.Integer(), nullable=True),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pdf_file_id', sa.Integer(), nullable=True),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=True),
    sa.CheckConstraint('number >= 1', name=op.f('ck_order_revisions_number_positive')),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['users.id'], name=op.f('fk_order_revisions_accepted_by_id_users')),
    sa.ForeignKeyConstraint(['change_id'], ['order_changes.id'], name=op.f('fk_order_revisions_change_id_order_changes')),
    sa.ForeignKeyConstraint(['order_id'], ['purchase_orders.id'], name=op.f('fk_order_revisions_order_id_purchase_orders'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pdf_file_id'], ['stored_files.id'], name=op.f('fk_order_revisions_pdf_file_id_stored_files')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], name=op.f('fk_order_revisions_proposed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_revisions')),
    sa.UniqueConstraint('order_id', 'number', name='uq_order_revisions_number')
    )
    with op.batch_alter_table('order_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_revisions_order_id'), ['order_id'], unique=False)


def downgrade():
    with op.batch_alter_table('order_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_revisions_order_id'))
    op.drop_table('order_revisions')
    op.drop_table('order_change_approvals')
    with op.batch_alter_table('order_change_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_change_lines_change_id'))
    op.drop_table('order_change_lines')
    with op.batch_alter_table('order_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_changes_order_id'))
    op.drop_table('order_changes')

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_order_lines_proposed_price_nonneg'), type_='check')
        batch_op.drop_constraint(op.f('ck_order_lines_short_closed_within'), type_='check')
        batch_op.drop_column('short_close_reason')
        batch_op.drop_column('short_closed_quantity')
        batch_op.drop_column('cost_reference')
        batch_op.drop_column('proposed_unit_price')

    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.drop_column('revision')
        batch_op.drop_column('internal_notes')
