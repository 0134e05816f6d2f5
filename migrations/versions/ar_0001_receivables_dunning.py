"""receivables: dunning settings (late-payment interest) and dunning notices; the reminder rows become notices

Revision ID: ar_0001
Revises: disp_0001
Create Date: 2026-12-06 08:45:00

The overdue-reminder stages sent so far (invoice_reminders) are copied into dunning_notices as levels 1..3 in
the order they were sent (so no invoice is reminded again for a stage it already had), then the old table goes.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'ar_0001'
down_revision = 'disp_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dunning_settings',
    sa.Column('supplier_company_id', sa.Integer(), nullable=False),
    sa.Column('charge_interest', sa.Boolean(), nullable=False),
    sa.Column('reference_rate', sa.Numeric(precision=7, scale=3), nullable=True),
    sa.Column('reference_rate_date', sa.Date(), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.CheckConstraint('reference_rate IS NULL OR (reference_rate >= -10 AND reference_rate <= 50)',
                       name=op.f('ck_dunning_settings_reference_rate_range')),
    sa.CheckConstraint('NOT charge_interest OR (reference_rate IS NOT NULL AND reference_rate_date IS NOT NULL)',
                       name=op.f('ck_dunning_settings_interest_needs_rate')),
    sa.ForeignKeyConstraint(['supplier_company_id'], ['companies.id'],
                            name=op.f('fk_dunning_settings_supplier_company_id_companies')),
    sa.PrimaryKeyConstraint('supplier_company_id', name=op.f('pk_dunning_settings'))
    )
    op.create_table('dunning_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('supplier_company_id', sa.Integer(), nullable=False),
    sa.Column('buyer_company_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('days_late', sa.Integer(), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('open_amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('interest_rate', sa.Numeric(precision=7, scale=3), nullable=True),
    sa.Column('interest_amount', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('snapshot', sa.JSON(), nullable=True),
    sa.Column('pdf_file_id', sa.Integer(), nullable=True),
    sa.Column('pdf_job_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('level >= 1 AND level <= 3', name=op.f('ck_dunning_notices_level_range')),
    sa.CheckConstraint('open_amount >= 0', name=op.f('ck_dunning_notices_open_nonneg')),
    sa.CheckConstraint('interest_amount IS NULL OR interest_amount >= 0',
                       name=op.f('ck_dunning_notices_interest_nonneg')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_dunning_notices_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['supplier_company_id'], ['companies.id'],
                            name=op.f('fk_dunning_notices_supplier_company_id_companies')),
    sa.ForeignKeyConstraint(['buyer_company_id'], ['companies.id'],
                            name=op.f('fk_dunning_notices_buyer_company_id_companies')),
    sa.ForeignKeyConstraint(['pdf_file_id'], ['stored_files.id'],
                            name=op.f('fk_dunning_notices_pdf_file_id_stored_files')),
    sa.ForeignKeyConstraint(['pdf_job_id'], ['job_records.id'], name=op.f('fk_dunning_notices_pdf_job_id_job_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dunning_notices')),
    sa.UniqueConstraint('invoice_id', 'level', name='uq_dunning_notices_level')
    )
    with op.batch_alter_table('dunning_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dunning_notices_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index('ix_dunning_notices_supplier_id', ['supplier_company_id', 'id'], unique=False)

    # The reminders sent so far become levels (1st stage sent = level 1, ...), at most three per invoice.
    op.execute("""
        INSERT INTO dunning_notices (invoice_id, supplier_company_id, buyer_company_id, level, days_late, sent_on,
                                     currency, open_amount, created_at)
        SELECT r.invoice_id, i.supplier_company_id, i.buyer_company_id, r.lvl, r.days_after_due,
               DATE(r.sent_at), i.currency,
               CASE WHEN i.total_gross - i.paid_amount - i.credited_amount > 0
                    THEN i.total_gross - i.paid_amount - i.credited_amount ELSE 0 END,
               r.sent_at
        FROM (SELECT invoice_id, days_after_due, sent_at,
                     ROW_NUMBER() OVER (PARTITION BY invoice_id ORDER BY days_after_due) AS lvl
              FROM invoice_reminders) r
        JOIN invoices i ON i.id = r.invoice_id
        WHERE r.lvl <= 3
    """)
    op.drop_table('invoice_reminders')


def downgrade():
    op.create_table('invoice_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('days_after_due', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_reminders_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_reminders')),
    sa.UniqueConstraint('invoice_id', 'days_after_due', name='uq_invoice_reminders_stage')
    )
    op.execute("INSERT INTO invoice_reminders (invoice_id, days_after_due, sent_at) "
               "SELECT invoice_id, days_late, created_at FROM dunning_notices")
    with op.batch_alter_table('dunning_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_dunning_notices_supplier_id')
        batch_op.drop_index(batch_op.f('ix_dunning_notices_invoice_id'))
    op.drop_table('dunning_notices')
    op.drop_table('dunning_settings')
