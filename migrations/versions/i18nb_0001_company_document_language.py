"""companies.language and companies.bilingual_documents: documents follow their recipient

Revision ID: i18nb_0001
Revises: perf_0001
Create Date: 2026-12-06 11:40:00

A purchase order is written in the supplier's language, an invoice, credit note or dunning letter in the buyer's
(portal/documents/language.py). Existing companies get the default of their country: German for DE, AT and CH,
English otherwise; nobody's documents are bilingual until the company asks for it.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'i18nb_0001'
down_revision = "frm_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='en', nullable=False))
        batch_op.add_column(sa.Column('bilingual_documents', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    op.execute(sa.text("UPDATE companies SET language = 'de' WHERE country IN ('DE', 'AT', 'CH')"))


def downgrade():
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_column('bilingual_documents')
        batch_op.drop_column('language')
