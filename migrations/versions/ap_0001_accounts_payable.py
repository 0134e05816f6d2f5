"""accounts payable: tolerances, cash discount terms, matches, disputes, payment runs, remittance advices

Revision ID: ap_0001
Revises: apic_0001
Create Date: 2026-12-06 08:40:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'ap_0001'
down_revision = 'apic_0001'
branch_labels = None
depends_on = None

MONEY = sa.Numeric(18, 4, asdecimal=True)
PCT = sa.Numeric(5, 2)
TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        'payables_settings',
        sa.Column('buyer_company_id', sa.Integer(), nullable=False),
        sa.Column('price_tolerance_percent', PCT, nullable=False),
        sa.Column('price_tolerance_amount', MONEY, nullable=False),
        sa.Column('quantity_tolerance_percent', PCT, nullable=False),
        sa.Column('total_tolerance_percent', PCT, nullable=False),
        sa.Column('total_tolerance_amount', MONEY, nullable=False),
        sa.Column('auto_approve', sa.Boolean(), nullable=False),
        sa.Column('lock_version', sa.Integer(), nullable=False),
        sa.CheckConstraint('price_tolerance_percent >= 0 AND price_tolerance_percent <= 50',
                           name=op.f('ck_payables_settings_price_pct_range')),
        sa.CheckConstraint('quantity_tolerance_percent >= 0 AND quantity_tolerance_percent <= 50',
                           name=op.f('ck_payables_settings_qty_pct_range')),
        sa.CheckConstraint('total_tolerance_percent >= 0 AND total_tolerance_percent <= 50',
                           name=op.f('ck_payables_settings_total_pct_range')),
        sa.CheckConstraint('price_tolerance_amount >= 0 AND total_tolerance_amount >= 0',
                           name=op.f('ck_payables_settings_amounts_nonneg')),
        sa.ForeignKeyConstraint(['buyer_company_id'], ['companies.id'],
                                name=op.f('fk_payables_settings_buyer_company_id_companies')),
        sa.PrimaryKeyConstraint('buyer_company_id', name=op.f('pk_payables_settings')),
    )
    op.create_table(
        'cash_discount_terms',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('buyer_company_id', sa.Integer(), nullable=False),
        sa.Column('supplier_company_id', sa.Integer(), nullable=False),
        sa.Column('discount_percent', PCT, nullable=False),
        sa.Column('discount_days', sa.Integer(), nullable=False),
        sa.CheckConstraint('discount_percent > 0 AND discount_percent <= 20',
                           name=op.f('ck_cash_discount_terms_discount_range')),
        sa.CheckConstraint('discount_days >= 1 AND discount_days <= 90', name=op.f('ck_cash_discount_terms_days_range')),
        sa.ForeignKeyConstraint(['buyer_company_id'], ['companies.id'],
                                name=op.f('fk_cash_discount_terms_buyer_company_id_companies')),
        sa.ForeignKeyConstraint(['supplier_company_id'], ['companies.id'],
                                name=op.f('fk_cash_discount_terms_supplier_company_id_companies')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cash_discount_terms')),
        sa.UniqueConstraint('buyer_company_id', 'supplier_company_id', name='uq_cash_discount_terms_pair'),
    )
    op.create_table(
        'invoice_matches',
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('buyer_company_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.Enum('matched', 'exceptions', 'covered', name='matchstatus', native_enum=False,
                                    length=16), nullable=False),
        sa.Column('exceptions', sa.JSON(), nullable=False),
        sa.Column('checked_at', TS, nullable=False),
        sa.Column('auto_approved', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['buyer_company_id'], ['companies.id'],
                                name=op.f('fk_invoice_matches_buyer_company_id_companies')),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_matches_invoice_id_invoices')),
        sa.PrimaryKeyConstraint('invoice_id', name=op.f('pk_invoice_matches')),
    )
    op.create_index(op.f('ix_invoice_matches_buyer_company_id'), 'invoice_matches', ['buyer_company_id'])
    op.create_table(
        'disputes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('buyer_company_id', sa.Integer(), nullable=False),
        sa.Column('supplier_company_id', sa.Integer(), nullable=False),
        sa.Column('invoice_line_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.Enum('open', 'answered', 'resolved', 'withdrawn', name='disputestatus',
                                    native_enum=False, length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('opened_by_id', sa.Integer(), nullable=False),
        sa.Column('closed_at', TS, nullable=True),
        sa.Column('closed_by_id', sa.Integer(), nullable=True),
        sa.Column('credit_note_id', sa.Integer(), nullable=True),
        sa.Column('lock_version', sa.Integer(), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.CheckConstraint("(status IN ('resolved', 'withdrawn')) = (closed_at IS NOT NULL)",
                           name=op.f('ck_disputes_closed_iff_done')),
        sa.CheckConstraint("status != 'resolved' OR credit_note_id IS NOT NULL",
                           name=op.f('ck_disputes_resolved_by_credit_note')),
        sa.ForeignKeyConstraint(['buyer_company_id'], ['companies.id'], name=op.f('fk_disputes_buyer_company_id_companies')),
        sa.ForeignKeyConstraint(['supplier_company_id'], ['companies.id'],
                                name=op.f('fk_disputes_supplier_company_id_companies')),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_disputes_invoice_id_invoices')),
        sa.ForeignKeyConstraint(['credit_note_id'], ['invoices.id'], name=op.f('fk_disputes_credit_note_id_invoices')),
        sa.ForeignKeyConstraint(['invoice_line_id'], ['invoice_lines.id'],
                                name=op.f('fk_disputes_invoice_line_id_invoice_lines')),
        sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_disputes_opened_by_id_users')),
        sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_disputes_closed_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_disputes')),
    )
    op.create_index(op.f('ix_disputes_invoice_id'), 'disputes', ['invoice_id'])
    op.create_index('ix_disputes_buyer_id', 'disputes', ['buyer_company_id', 'id'])
    op.create_index('ix_disputes_supplier_id', 'disputes', ['supplier_company_id', 'id'])
    op.create_table(
        'dispute_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dispute_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('at', TS, nullable=False),
        sa.ForeignKeyConstraint(['dispute_id'], ['disputes.id'], name=op.f('fk_dispute_events_dispute_id_disputes'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_dispute_events_actor_id_users')),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_dispute_events_company_id_companies')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dispute_events')),
    )
    op.create_index(op.f('ix_dispute_events_dispute_id'), 'dispute_events', ['dispute_id'])
    op.create_table(
        'payment_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('buyer_company_id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(32), nullable=False),
        sa.Column('status', sa.Enum('draft', 'approved', 'exported', 'executed', 'cancelled', name='runstatus',
                                    native_enum=False, length=16), nullable=False),
        sa.Column('currency', sa.String(3), nullable=False),
        sa.Column('due_by', sa.Date(), nullable=True),
        sa.Column('execution_date', sa.Date(), nullable=False),
        sa.Column('total_amount', MONEY, nullable=False),
        sa.Column('total_discount', MONEY, nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('approved_by_id', sa.Integer(), nullable=True),
        sa.Column('approved_at', TS, nullable=True),
        sa.Column('exported_by_id', sa.Integer(), nullable=True),
        sa.Column('exported_at', TS, nullable=True),
        sa.Column('sepa_file_id', sa.Integer(), nullable=True),
        sa.Column('message_id', sa.String(35), nullable=True),
        sa.Column('executed_on', sa.Date(), nullable=True),
        sa.Column('executed_at', TS, nullable=True),
        sa.Column('lock_version', sa.Integer(), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.CheckConstraint('total_amount >= 0 AND total_discount >= 0', name=op.f('ck_payment_runs_totals_nonneg')),
        sa.CheckConstraint('approved_by_id IS NULL OR approved_by_id != created_by_id',
                           name=op.f('ck_payment_runs_four_eyes')),
        sa.CheckConstraint("(status IN ('exported', 'executed')) = (sepa_file_id IS NOT NULL)",
                           name=op.f('ck_payment_runs_file_iff_exported')),
        sa.ForeignKeyConstraint(['buyer_company_id'], ['companies.id'],
                                name=op.f('fk_payment_runs_buyer_company_id_companies')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_payment_runs_created_by_id_users')),
        sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_payment_runs_approved_by_id_users')),
        sa.ForeignKeyConstraint(['exported_by_id'], ['users.id'], name=op.f('fk_payment_runs_exported_by_id_users')),
        sa.ForeignKeyConstraint(['sepa_file_id'], ['stored_files.id'],
                                name=op.f('fk_payment_runs_sepa_file_id_stored_files')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_runs')),
        sa.UniqueConstraint('buyer_company_id', 'reference', name='uq_payment_runs_reference'),
    )
    op.create_index('ix_payment_runs_buyer_id', 'payment_runs', ['buyer_company_id', 'id'])
    op.create_table(
        'payment_run_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('supplier_company_id', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(3), nullable=False),
        sa.Column('open_amount', MONEY, nullable=False),
        sa.Column('discount_amount', MONEY, nullable=False),
        sa.Column('pay_amount', MONEY, nullable=False),
        sa.Column('discount_percent', PCT, nullable=False),
        sa.Column('discount_until', sa.Date(), nullable=True),
        sa.Column('state', sa.Enum('included', 'apart', 'dropped', 'released', name='itemstate', native_enum=False,
                                   length=16), nullable=False),
        sa.Column('note', sa.String(500), nullable=False),
        sa.CheckConstraint('open_amount >= 0', name=op.f('ck_payment_run_items_open_nonneg')),
        sa.CheckConstraint('discount_amount >= 0 AND pay_amount >= 0', name=op.f('ck_payment_run_items_amounts_nonneg')),
        sa.CheckConstraint('ABS(discount_amount + pay_amount - open_amount) < 0.00001',
                           name=op.f('ck_payment_run_items_adds_up')),
        sa.ForeignKeyConstraint(['run_id'], ['payment_runs.id'], name=op.f('fk_payment_run_items_run_id_payment_runs'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_payment_run_items_invoice_id_invoices')),
        sa.ForeignKeyConstraint(['supplier_company_id'], ['companies.id'],
                                name=op.f('fk_payment_run_items_supplier_company_id_companies')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_run_items')),
    )
    op.create_index(op.f('ix_payment_run_items_run_id'), 'payment_run_items', ['run_id'])
    op.create_index(op.f('ix_payment_run_items_invoice_id'), 'payment_run_items', ['invoice_id'])
    op.create_index('uq_payment_run_items_claim', 'payment_run_items', ['invoice_id'], unique=True,
                    sqlite_where=sa.text("state = 'included'"), postgresql_where=sa.text("state = 'included'"))
    op.create_table(
        'remittance_advices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('buyer_company_id', sa.Integer(), nullable=False),
        sa.Column('supplier_company_id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(40), nullable=False),
        sa.Column('currency', sa.String(3), nullable=False),
        sa.Column('amount', MONEY, nullable=False),
        sa.Column('discount_total', MONEY, nullable=False),
        sa.Column('paid_on', sa.Date(), nullable=False),
        sa.Column('status', sa.Enum('sent', 'reconciled', name='remittancestatus', native_enum=False, length=16),
                  nullable=False),
        sa.Column('lines', sa.JSON(), nullable=False),
        sa.Column('reconciled_at', TS, nullable=True),
        sa.Column('reconciled_by_id', sa.Integer(), nullable=True),
        sa.Column('pdf_file_id', sa.Integer(), nullable=True),
        sa.Column('pdf_job_id', sa.Integer(), nullable=True),
        sa.Column('lock_version', sa.Integer(), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.CheckConstraint('amount >= 0 AND discount_total >= 0', name=op.f('ck_remittance_advices_amounts_nonneg')),
        sa.ForeignKeyConstraint(['run_id'], ['payment_runs.id'], name=op.f('fk_remittance_advices_run_id_payment_runs')),
        sa.ForeignKeyConstraint(['buyer_company_id'], ['companies.id'],
                                name=op.f('fk_remittance_advices_buyer_company_id_companies')),
        sa.ForeignKeyConstraint(['supplier_company_id'], ['companies.id'],
                                name=op.f('fk_remittance_advices_supplier_company_id_companies')),
        sa.ForeignKeyConstraint(['reconciled_by_id'], ['users.id'],
                                name=op.f('fk_remittance_advices_reconciled_by_id_users')),
        sa.ForeignKeyConstraint(['pdf_file_id'], ['stored_files.id'],
                                name=op.f('fk_remittance_advices_pdf_file_id_stored_files')),
        sa.ForeignKeyConstraint(['pdf_job_id'], ['job_records.id'],
                                name=op.f('fk_remittance_advices_pdf_job_id_job_records')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_remittance_advices')),
        sa.UniqueConstraint('run_id', 'supplier_company_id', name='uq_remittance_advices_run_supplier'),
    )
    op.create_index(op.f('ix_remittance_advices_run_id'), 'remittance_advices', ['run_id'])
    op.create_index('ix_remittance_advices_supplier_id', 'remittance_advices', ['supplier_company_id', 'id'])
    op.create_index('ix_remittance_advices_buyer_id', 'remittance_advices', ['buyer_company_id', 'id'])


def downgrade():
    op.drop_table('remittance_advices')
    op.drop_table('payment_run_items')
    op.drop_table('payment_runs')
    op.drop_table('dispute_events')
    op.drop_table('disputes')
    op.drop_table('invoice_matches')
    op.drop_table('cash_discount_terms')
    op.drop_table('payables_settings')
