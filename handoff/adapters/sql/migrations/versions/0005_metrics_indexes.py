"""metrics indexes: the manager dashboard over a million messages

- `ix_messages_contacts_time` (created_at, conversation_id, reason), partial on the messages
  that form contacts (patient messages on the bot side, not CSAT answers): the dashboard's
  contact scan reads this small index only (index-only scan) instead of the whole table.
- `ix_messages_contacts_conv_reason_time` (conversation_id, reason, created_at), same
  predicate: the first-contact-resolution probe "same patient, same reason, within 7 days".
- `ix_conversation_events_type_time` (type, created_at): handoffs of a period.
- `ix_conversation_events_conv_time` (conversation_id, created_at): one conversation's events
  in time order (the milestones of an episode).
- `ix_conversation_events_handoff_conv_time` (conversation_id, created_at) partial on
  `type = 'handoff'`: the re-contact probe "a new handoff of the same patient within 7 days".

The partial predicate must stay identical to `metrics_queries.contact_message`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 15:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

CONTACT_MESSAGE = ("direction = 'in' AND sender = 'patient' AND status <> 'routed' "
                   "AND (intent IS NULL OR intent <> 'csat')")


def upgrade() -> None:
    where = sa.text(CONTACT_MESSAGE)
    op.create_index('ix_messages_contacts_time', 'messages', ['created_at', 'conversation_id', 'reason'],
                    unique=False, postgresql_where=where, sqlite_where=where)
    op.create_index('ix_messages_contacts_conv_reason_time', 'messages', ['conversation_id', 'reason', 'created_at'],
                    unique=False, postgresql_where=where, sqlite_where=where)
    op.create_index('ix_conversation_events_type_time', 'conversation_events', ['type', 'created_at'], unique=False)
    op.create_index('ix_conversation_events_conv_time', 'conversation_events', ['conversation_id', 'created_at'],
                    unique=False)
    handoff = sa.text("type = 'handoff'")
    op.create_index('ix_conversation_events_handoff_conv_time', 'conversation_events',
                    ['conversation_id', 'created_at'], unique=False, postgresql_where=handoff, sqlite_where=handoff)


def downgrade() -> None:
    op.drop_index('ix_conversation_events_handoff_conv_time', table_name='conversation_events')
    op.drop_index('ix_conversation_events_conv_time', table_name='conversation_events')
    op.drop_index('ix_conversation_events_type_time', table_name='conversation_events')
    op.drop_index('ix_messages_contacts_conv_reason_time', table_name='messages')
    op.drop_index('ix_messages_contacts_time', table_name='messages')
