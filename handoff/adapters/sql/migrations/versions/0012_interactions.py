"""interaction records (issue 14): every ended conversation told to the clinic's CRM / FHIR server

- `interaction_deliveries`: the durable outbox of interaction records, one row per target
  (`webhook` | `fhir`) and interaction (unique `(target, interaction_key)`): the summary (ids,
  labels, times; never message text), status, attempts, next attempt, lease, last HTTP status,
  the remote reference (FHIR Communication id) and replays.
- `interaction_marks`: per conversation, up to when its activity has been summarised.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 03:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('interaction_deliveries',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('interaction_key', sa.String(length=96), nullable=False),
    sa.Column('target', sa.String(length=16), nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('patient_id', BigId, nullable=True),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_http_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('remote_ref', sa.String(length=300), nullable=True),
    sa.Column('replays', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('target', 'interaction_key', name='uq_interaction_deliveries_target_key')
    )
    with op.batch_alter_table('interaction_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_interaction_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_interaction_deliveries_created', ['created_at'], unique=False)
        batch_op.create_index('ix_interaction_deliveries_conversation_id', ['conversation_id'], unique=False)
        batch_op.create_index('ix_interaction_deliveries_patient_id', ['patient_id'], unique=False)
    op.create_table('interaction_marks',
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('closed_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('conversation_id')
    )


def downgrade() -> None:
    op.drop_table('interaction_marks')
    with op.batch_alter_table('interaction_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_interaction_deliveries_patient_id')
        batch_op.drop_index('ix_interaction_deliveries_conversation_id')
        batch_op.drop_index('ix_interaction_deliveries_created')
        batch_op.drop_index('ix_interaction_deliveries_due')
    op.drop_table('interaction_deliveries')
