"""appointment reminders (issue 15)

- `reminder_rules`: the schedule per specialty (specialty_id NULL = default): offsets in hours,
  the same-morning flag, enabled.
- `reminders`: one row per (appointment, kind, planned start): due time, status, lease, the
  outbox message, delivery/read times, the derived reply, a short error code, the SHA-256 of the
  e-mail confirm token.
- `reminder_opt_outs`: patients who asked not to receive reminders.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 04:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('reminder_rules',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('specialty_id', BigId, nullable=True),
    sa.Column('offsets_hours', sa.JSON(), nullable=False),
    sa.Column('morning_of', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('specialty_id', name='uq_reminder_rules_specialty')
    )
    op.create_table('reminders',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('appointment_id', BigId, nullable=False),
    sa.Column('patient_id', BigId, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('appointment_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('conversation_id', sa.String(length=36), nullable=True),
    sa.Column('message_id', BigId, nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reply', sa.String(length=16), nullable=True),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=64), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('appointment_id', 'kind', 'appointment_start', name='uq_reminders_appointment_kind_start')
    )
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index('ix_reminders_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_reminders_patient_id', ['patient_id', 'sent_at'], unique=False)
        batch_op.create_index('ix_reminders_conversation_id', ['conversation_id'], unique=False)
        batch_op.create_index('ix_reminders_token_hash', ['token_hash'], unique=True)
    op.create_table('reminder_opt_outs',
    sa.Column('patient_id', BigId, autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('patient_id')
    )


def downgrade() -> None:
    op.drop_table('reminder_opt_outs')
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index('ix_reminders_token_hash')
        batch_op.drop_index('ix_reminders_conversation_id')
        batch_op.drop_index('ix_reminders_patient_id')
        batch_op.drop_index('ix_reminders_due')
    op.drop_table('reminders')
    op.drop_table('reminder_rules')
