"""waitlist (issue 15): freed slots offered first come first served, with a hold

- `waitlist_entries`: a patient who asked for an earlier date for a specialty (optionally a
  doctor, optionally before a date); `active_key` is unique while the entry waits (one active
  entry per patient + specialty + doctor) and NULL after.
- `waitlist_offers`: one freed slot offered to one patient: hold end, outcome, the outbox message,
  the appointment booked from it (a slot refilled from the waitlist); `slot_key` is unique while
  the offer holds the slot, so two patients never hold the same slot.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 05:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('waitlist_entries',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('patient_id', BigId, nullable=False),
    sa.Column('specialty', sa.String(length=64), nullable=False),
    sa.Column('doctor_id', BigId, nullable=True),
    sa.Column('before', sa.Date(), nullable=True),
    sa.Column('conversation_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('active_key', sa.String(length=120), nullable=True),
    sa.Column('appointment_id', BigId, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('active_key')
    )
    with op.batch_alter_table('waitlist_entries', schema=None) as batch_op:
        batch_op.create_index('ix_waitlist_entries_queue', ['status', 'specialty', 'created_at'], unique=False)
        batch_op.create_index('ix_waitlist_entries_patient_id', ['patient_id'], unique=False)
    op.create_table('waitlist_offers',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('entry_id', BigId, nullable=False),
    sa.Column('patient_id', BigId, nullable=False),
    sa.Column('doctor_id', BigId, nullable=False),
    sa.Column('specialty', sa.String(length=64), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('hold_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('slot_key', sa.String(length=64), nullable=True),
    sa.Column('entry_key', BigId, nullable=True),
    sa.Column('message_id', BigId, nullable=True),
    sa.Column('appointment_id', BigId, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['waitlist_entries.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('entry_key'),
    sa.UniqueConstraint('slot_key')
    )
    with op.batch_alter_table('waitlist_offers', schema=None) as batch_op:
        batch_op.create_index('ix_waitlist_offers_due', ['status', 'hold_until'], unique=False)
        batch_op.create_index('ix_waitlist_offers_slot', ['doctor_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_waitlist_offers_created', ['created_at'], unique=False)
        batch_op.create_index('ix_waitlist_offers_entry_id', ['entry_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('waitlist_offers', schema=None) as batch_op:
        batch_op.drop_index('ix_waitlist_offers_entry_id')
        batch_op.drop_index('ix_waitlist_offers_created')
        batch_op.drop_index('ix_waitlist_offers_slot')
        batch_op.drop_index('ix_waitlist_offers_due')
    op.drop_table('waitlist_offers')
    with op.batch_alter_table('waitlist_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_waitlist_entries_patient_id')
        batch_op.drop_index('ix_waitlist_entries_queue')
    op.drop_table('waitlist_entries')
