"""reminder texts (issue 15): the clinic's own wording of each reminder kind

- `reminder_texts`: one row per reminder kind (`24h`, `48h`, `morning`, `<n>h`) whose text the
  staff edited on /lembretes; the body holds placeholders ({nome} {quando} {medico}
  {especialidade} {endereco} {preparo}). No row = the built-in text.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 06:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('reminder_texts',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_by', BigId, nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kind')
    )


def downgrade() -> None:
    op.drop_table('reminder_texts')
