"""external agenda (issue 14): doctors' calendars in CalDAV or FHIR, appointments mirrored with
their external reference, sync state, and the outbox of agenda writes that could not be made at once

- `doctors.agenda_ref`: where this doctor's agenda lives in the clinic's system (a CalDAV calendar
  URL, or a FHIR `Schedule` id); NULL = the built-in agenda.
- `appointments.agenda_system` / `agenda_ref` / `agenda_version`: the external copy of a booking (the
  CalDAV event href and its ETag, or the FHIR `Appointment` id and `meta.versionId`), so a change
  is written with If-Match and the reception's moves are recognised.
- `agenda_sync`: per doctor, the last CalDAV sync token (or FHIR `_lastUpdated` mark) read.
- `agenda_writes`: a cancellation or move the patient made while the external agenda was down,
  retried with backoff until the agenda takes it (durable, one row per pending write).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 02:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('doctors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agenda_ref', sa.String(length=500), nullable=True))
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agenda_system', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('agenda_ref', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('agenda_version', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_appointments_agenda_ref', ['agenda_system', 'agenda_ref'], unique=False)
    op.create_table('agenda_sync',
    sa.Column('doctor_id', BigId, nullable=False),
    sa.Column('system', sa.String(length=16), nullable=False),
    sa.Column('token', sa.Text(), nullable=True),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['doctor_id'], ['doctors.id'], ),
    sa.PrimaryKeyConstraint('doctor_id')
    )
    op.create_table('agenda_writes',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('appointment_id', BigId, nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('agenda_writes', schema=None) as batch_op:
        batch_op.create_index('ix_agenda_writes_due', ['done_at', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('agenda_writes', schema=None) as batch_op:
        batch_op.drop_index('ix_agenda_writes_due')
    op.drop_table('agenda_writes')
    op.drop_table('agenda_sync')
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_index('ix_appointments_agenda_ref')
        batch_op.drop_column('agenda_version')
        batch_op.drop_column('agenda_ref')
        batch_op.drop_column('agenda_system')
    with op.batch_alter_table('doctors', schema=None) as batch_op:
        batch_op.drop_column('agenda_ref')
