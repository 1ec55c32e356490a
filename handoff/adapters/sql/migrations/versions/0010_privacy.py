"""privacy by design under LGPD (issue 13): data-subject requests, legal holds, retention and
disposal, incidents, readable audit, access grants and login throttling

- `privacy_requests`: one row per data-subject request (LGPD Art. 18/19): kind (access | export |
  correction | erasure | revoke_consent), how the requester was verified, the 15-day clock
  (`due_at`, `escalated_at`), who answered and what (`result`: counts and legal holds, never content).
- `legal_holds`: data the clinic must keep (medical record, Lei 13.787/2018: 20 years from the last
  entry; fiscal documents) that erasure and disposal never touch.
- `retention_policies`: days to keep each data category (NULL = keep); `disposal_runs`: what each
  run of the daily disposal job removed (counts per category, never content) and where it stopped.
- `privacy_incidents`: the incident register (LGPD Art. 48; ANPD notice due in 3 working days).
- `login_throttle`: failed logins per key (e-mail or client address) for rate limiting and lockout.
- `audit_log` gains `patient_id`, `reason` and `data` (who saw whose data and why, filterable).
- `staff_users` gains `grants` (extra data an account may see beyond its role, e.g. every queue).
- `patients` gains `erased_at`; `conversations` and `messages` gain `redacted_at` (content
  disposed or erased, metadata kept so metrics stay correct).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 22:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('privacy_requests',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('patient_id', BigId, nullable=True),
    sa.Column('conversation_id', sa.String(length=36), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('verified_by', sa.String(length=32), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('simplified_answer_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by', BigId, nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.ForeignKeyConstraint(['answered_by'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('privacy_requests', schema=None) as batch_op:
        batch_op.create_index('ix_privacy_requests_status_due', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_requests_patient_id'), ['patient_id'], unique=False)

    op.create_table('legal_holds',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('patient_id', BigId, nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('basis', sa.String(length=200), nullable=False),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('created_by', BigId, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('legal_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_holds_patient_id'), ['patient_id'], unique=False)

    op.create_table('retention_policies',
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('days', sa.Integer(), nullable=True),
    sa.Column('updated_by', BigId, nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['updated_by'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('category')
    )

    op.create_table('disposal_runs',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cutoffs', sa.JSON(), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=True),
    sa.Column('cursor', sa.JSON(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_date', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_date', name='uq_disposal_runs_run_date')
    )

    op.create_table('privacy_incidents',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('data_categories', sa.JSON(), nullable=False),
    sa.Column('subjects_estimate', sa.Integer(), nullable=True),
    sa.Column('measures', sa.Text(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('anpd_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('anpd_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('subjects_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', BigId, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )

    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('failures', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('patient_id', BigId, nullable=True))
        batch_op.add_column(sa.Column('reason', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('data', sa.JSON(), nullable=True))
        batch_op.create_index('ix_audit_log_patient_time', ['patient_id', 'created_at'], unique=False)
        batch_op.create_index('ix_audit_log_action_time', ['action', 'created_at'], unique=False)

    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grants', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))

    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redacted_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redacted_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('redacted_at')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('redacted_at')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('grants')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_action_time')
        batch_op.drop_index('ix_audit_log_patient_time')
        batch_op.drop_column('data')
        batch_op.drop_column('reason')
        batch_op.drop_column('patient_id')
    op.drop_table('login_throttle')
    op.drop_table('privacy_incidents')
    op.drop_table('disposal_runs')
    op.drop_table('retention_policies')
    op.drop_table('legal_holds')
    with op.batch_alter_table('privacy_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_requests_patient_id'))
        batch_op.drop_index('ix_privacy_requests_status_due')
    op.drop_table('privacy_requests')
