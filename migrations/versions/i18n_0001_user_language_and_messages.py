"""the person's language; the format setting may follow it; notifications keep their message and figures

Revision ID: i18n_0001
Revises: perf_0001
Create Date: 2026-12-06 11:40:00

* ``users.language`` (nullable: follow the browser's Accept-Language).
* ``users.locale`` becomes nullable: no choice means "formats follow the language". The old default, en_GB, was
  never a choice people made, so it becomes NULL (an English page still shows en_GB formats).
* ``notifications.message``: the message ids and their figures (JSON), formatted when the notice is shown.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'i18n_0001'
down_revision = "perf2_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('language', sa.String(length=8), nullable=True))
        batch.alter_column('locale', existing_type=sa.String(length=16), nullable=True)
    op.execute("UPDATE users SET locale = NULL WHERE locale = 'en_GB'")
    with op.batch_alter_table('notifications') as batch:
        batch.add_column(sa.Column('message', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('notifications') as batch:
        batch.drop_column('message')
    op.execute("UPDATE users SET locale = 'en_GB' WHERE locale IS NULL")
    with op.batch_alter_table('users') as batch:
        batch.alter_column('locale', existing_type=sa.String(length=16), nullable=False)
        batch.drop_column('language')
