"""pending status reports and wide provider ids

- `pending_status_reports` (channel, provider_message_id, status, error_code, received_at),
  unique on (channel, provider_message_id, status): a delivery report that matched no message
  because the outbox had not committed the provider's id yet (the provider may report during
  the send's HTTP round-trip). It is applied when the outbox records that id, in the same
  transaction (`channel_store.record_provider_id`), and purged after 24 h by the periodic SLA
  loop, so reports about messages that were never ours cannot grow the table.
- `messages.provider_message_id` widened from 128 to 512 characters (the unique constraint on
  (channel, provider_message_id) is kept): Instagram message ids are longer than 128, and were
  stored as `sha256:<hex of the id>` until now. They are stored verbatim from here on.
  Rows written before keep their digest: delivery reports still find them
  (`channel_store` also looks a long id up by its old digest). A Meta *redelivery* of an
  inbound Instagram message received before this migration would not dedupe against its digest
  row; Meta only redelivers a webhook it got no 200 for, within hours, so upgrade with the
  webhooks drained. E-mail Message-IDs keep their own digest rule (connectors/email.py).

SQLite does not enforce VARCHAR lengths; the column is still changed there through
`batch_alter_table` (a table copy that keeps the unique constraint and the partial indexes of
0005, predicates included).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _provider_id_width(length: int) -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.alter_column('provider_message_id', existing_type=sa.String(),
                              type_=sa.String(length=length), existing_nullable=True)


def upgrade() -> None:
    op.create_table('pending_status_reports',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('provider_message_id', sa.String(length=512), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error_code', sa.String(length=32), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'provider_message_id', 'status', name='uq_pending_status_reports_report')
    )
    op.create_index('ix_pending_status_reports_received_at', 'pending_status_reports', ['received_at'],
                    unique=False)
    _provider_id_width(512)


def downgrade() -> None:
    # Ids longer than 128 characters would not fit back: they must be gone (or digested) first.
    _provider_id_width(128)
    op.drop_index('ix_pending_status_reports_received_at', table_name='pending_status_reports')
    op.drop_table('pending_status_reports')
