"""NPS question after the satisfaction answer

- `conversations.nps_asked_at`: set when the hub, right after recording a patient's CSAT answer,
  asks the 0–10 "would you recommend us" question; cleared by the very next patient message
  (which is recorded in `csat_responses.nps` when it is a number from 0 to 10).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nps_asked_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('nps_asked_at')
