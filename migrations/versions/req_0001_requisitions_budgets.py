"""requisitions, cost centres, GL accounts, cost defaults, budgets; cost centre + GL account on order and invoice lines

Revision ID: req_0001
Revises: perf_0001
Create Date: 2026-12-06 11:23:55.000531

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'req_0001'
down_revision = "i18n_0001"
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('budget_settings',
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('cost_centre_required', sa.Boolean(), nullable=False),
    sa.Column('budget_mode', sa.Enum('warn', 'block', name='budgetmode', native_enum=False, length=8), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_budget_settings_company_id_companies')),
    sa.PrimaryKeyConstraint('company_id', name=op.f('pk_budget_settings'))
    )
    op.create_table('gl_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_gl_accounts_company_id_companies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gl_accounts')),
    sa.UniqueConstraint('company_id', 'code', name='uq_gl_accounts_code')
    )
    op.create_table('cost_centres',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_cost_centres_company_id_companies')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_cost_centres_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cost_centres')),
    sa.UniqueConstraint('company_id', 'code', name='uq_cost_centres_code')
    )
    op.create_table('requisitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('justification', sa.Text(), nullable=False),
    sa.Column('suggested_supplier_id', sa.Integer(), nullable=True),
    sa.Column('suggested_supplier_text', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.Enum('draft', 'submitted', 'approved', 'rejected', 'sourcing', 'ordered', 'received', 'cancelled', name='requisitionstatus', native_enum=False, length=16), nullable=False),
    sa.Column('total_estimated', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_on', sa.Date(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('total_estimated >= 0', name=op.f('ck_requisitions_total_nonneg')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_requisitions_company_id_companies')),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_requisitions_requester_id_users')),
    sa.ForeignKeyConstraint(['suggested_supplier_id'], ['companies.id'], name=op.f('fk_requisitions_suggested_supplier_id_companies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requisitions')),
    sa.UniqueConstraint('company_id', 'number', name='uq_requisitions_number')
    )
    with op.batch_alter_table('requisitions', schema=None) as batch_op:
        batch_op.create_index('ix_requisitions_company_status_id', ['company_id', 'status', 'id'], unique=False)

    op.create_table('budgets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('cost_centre_id', sa.Integer(), nullable=False),
    sa.Column('period_kind', sa.Enum('month', 'quarter', 'year', name='periodkind', native_enum=False, length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_budgets_amount_nonneg')),
    sa.CheckConstraint('period_end >= period_start', name=op.f('ck_budgets_period_ordered')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_budgets_company_id_companies')),
    sa.ForeignKeyConstraint(['cost_centre_id'], ['cost_centres.id'], name=op.f('fk_budgets_cost_centre_id_cost_centres')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budgets'))
    )
    with op.batch_alter_table('budgets', schema=None) as batch_op:
        batch_op.create_index('ix_budgets_company_centre_period', ['company_id', 'cost_centre_id', 'period_start'], unique=False)

    op.create_table('cost_defaults',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('cost_centre_id', sa.Integer(), nullable=True),
    sa.Column('gl_account_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(category IS NULL) <> (user_id IS NULL)', name=op.f('ck_cost_defaults_category_or_user')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_cost_defaults_company_id_companies')),
    sa.ForeignKeyConstraint(['cost_centre_id'], ['cost_centres.id'], name=op.f('fk_cost_defaults_cost_centre_id_cost_centres')),
    sa.ForeignKeyConstraint(['gl_account_id'], ['gl_accounts.id'], name=op.f('fk_cost_defaults_gl_account_id_gl_accounts')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_cost_defaults_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cost_defaults')),
    sa.UniqueConstraint('company_id', 'category', name='uq_cost_defaults_category'),
    sa.UniqueConstraint('company_id', 'user_id', name='uq_cost_defaults_user')
    )
    with op.batch_alter_table('cost_defaults', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cost_defaults_company_id'), ['company_id'], unique=False)

    op.create_table('requisition_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requisition_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('approver_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=10), nullable=False),
    sa.Column('over_budget', sa.Boolean(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("decision IN ('approved', 'rejected')", name=op.f('ck_requisition_approvals_decision_known')),
    sa.CheckConstraint("kind IN ('owner', 'amount')", name=op.f('ck_requisition_approvals_kind_known')),
    sa.ForeignKeyConstraint(['approver_id'], ['users.id'], name=op.f('fk_requisition_approvals_approver_id_users')),
    sa.ForeignKeyConstraint(['requisition_id'], ['requisitions.id'], name=op.f('fk_requisition_approvals_requisition_id_requisitions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requisition_approvals')),
    sa.UniqueConstraint('requisition_id', 'step', name='uq_requisition_approvals_step')
    )
    op.create_table('requisition_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requisition_id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['stored_files.id'], name=op.f('fk_requisition_attachments_file_id_stored_files')),
    sa.ForeignKeyConstraint(['requisition_id'], ['requisitions.id'], name=op.f('fk_requisition_attachments_requisition_id_requisitions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_requisition_attachments_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requisition_attachments'))
    )
    with op.batch_alter_table('requisition_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_requisition_attachments_requisition_id'), ['requisition_id'], unique=False)

    op.create_table('requisition_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requisition_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('catalog_item_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('estimated_price', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('line_total', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('needed_by', sa.Date(), nullable=True),
    sa.Column('cost_centre_id', sa.Integer(), nullable=True),
    sa.Column('gl_account_id', sa.Integer(), nullable=True),
    sa.Column('rfq_line_id', sa.Integer(), nullable=True),
    sa.Column('order_line_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('estimated_price >= 0', name=op.f('ck_requisition_lines_price_nonneg')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_requisition_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['catalog_item_id'], ['catalog_items.id'], name=op.f('fk_requisition_lines_catalog_item_id_catalog_items')),
    sa.ForeignKeyConstraint(['cost_centre_id'], ['cost_centres.id'], name=op.f('fk_requisition_lines_cost_centre_id_cost_centres')),
    sa.ForeignKeyConstraint(['gl_account_id'], ['gl_accounts.id'], name=op.f('fk_requisition_lines_gl_account_id_gl_accounts')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_requisition_lines_order_line_id_order_lines')),
    sa.ForeignKeyConstraint(['requisition_id'], ['requisitions.id'], name=op.f('fk_requisition_lines_requisition_id_requisitions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rfq_line_id'], ['rfq_lines.id'], name=op.f('fk_requisition_lines_rfq_line_id_rfq_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requisition_lines')),
    sa.UniqueConstraint('requisition_id', 'position', name='uq_requisition_lines_position')
    )
    with op.batch_alter_table('requisition_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_requisition_lines_cost_centre_id'), ['cost_centre_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_requisition_lines_order_line_id'), ['order_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_requisition_lines_requisition_id'), ['requisition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_requisition_lines_rfq_line_id'), ['rfq_line_id'], unique=False)

    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cost_centre_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('gl_account_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_invoice_lines_cost_centre_id'), ['cost_centre_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_invoice_lines_cost_centre_id_cost_centres'), 'cost_centres', ['cost_centre_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_invoice_lines_gl_account_id_gl_accounts'), 'gl_accounts', ['gl_account_id'], ['id'])

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cost_centre_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('gl_account_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_order_lines_cost_centre_id'), ['cost_centre_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_order_lines_cost_centre_id_cost_centres'), 'cost_centres', ['cost_centre_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_order_lines_gl_account_id_gl_accounts'), 'gl_accounts', ['gl_account_id'], ['id'])




def downgrade():

    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_order_lines_gl_account_id_gl_accounts'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_order_lines_cost_centre_id_cost_centres'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_order_lines_cost_centre_id'))
        batch_op.drop_column('gl_account_id')
        batch_op.drop_column('cost_centre_id')

    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_invoice_lines_gl_account_id_gl_accounts'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_invoice_lines_cost_centre_id_cost_centres'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_invoice_lines_cost_centre_id'))
        batch_op.drop_column('gl_account_id')
        batch_op.drop_column('cost_centre_id')

    with op.batch_alter_table('requisition_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_requisition_lines_rfq_line_id'))
        batch_op.drop_index(batch_op.f('ix_requisition_lines_requisition_id'))
        batch_op.drop_index(batch_op.f('ix_requisition_lines_order_line_id'))
        batch_op.drop_index(batch_op.f('ix_requisition_lines_cost_centre_id'))

    op.drop_table('requisition_lines')
    with op.batch_alter_table('requisition_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_requisition_attachments_requisition_id'))

    op.drop_table('requisition_attachments')
    op.drop_table('requisition_approvals')
    with op.batch_alter_table('cost_defaults', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cost_defaults_company_id'))

    op.drop_table('cost_defaults')
    with op.batch_alter_table('budgets', schema=None) as batch_op:
        batch_op.drop_index('ix_budgets_company_centre_period')

    op.drop_table('budgets')
    with op.batch_alter_table('requisitions', schema=None) as batch_op:
        batch_op.drop_index('ix_requisitions_company_status_id')

    op.drop_table('requisitions')
    op.drop_table('cost_centres')
    op.drop_table('gl_accounts')
    op.drop_table('budget_settings')

