"""e-invoicing: einvoice_settings, invoices.facturx_file_id / source_file_id, series EXT for imported invoices

Revision ID: einv_0001
Revises: ar_0001
Create Date: 2026-12-06 09:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'einv_0001'
down_revision = 'ar_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'einvoice_settings',
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('default_format', sa.String(length=8), nullable=False),
        sa.Column('routing_id', sa.String(length=64), nullable=False),
        sa.CheckConstraint("default_format IN ('facturx', 'cii', 'ubl')",
                           name=op.f('ck_einvoice_settings_format_known')),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                                name=op.f('fk_einvoice_settings_company_id_companies')),
        sa.PrimaryKeyConstraint('company_id', name=op.f('pk_einvoice_settings')),
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facturx_file_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('source_file_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_invoices_facturx_file_id_stored_files'), 'stored_files',
                                    ['facturx_file_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_invoices_source_file_id_stored_files'), 'stored_files',
                                    ['source_file_id'], ['id'])
        batch_op.drop_constraint(batch_op.f('ck_invoices_series_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_invoices_series_known'), "series IN ('INV', 'CRN', 'EXT')")


def downgrade():
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_invoices_series_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_invoices_series_known'), "series IN ('INV', 'CRN')")
        batch_op.drop_constraint(batch_op.f('fk_invoices_source_file_id_stored_files'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_invoices_facturx_file_id_stored_files'), type_='foreignkey')
        batch_op.drop_column('source_file_id')
        batch_op.drop_column('facturx_file_id')
    op.drop_table('einvoice_settings')
