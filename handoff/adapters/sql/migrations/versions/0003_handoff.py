"""handoff: queues, assignment, SLA escalations, CSAT, agent presence and capacity

Conversations gain their queue, owner and episode clocks; staff gain skills, queue membership,
capacity and presence. `sla_escalations` has a unique (conversation_id, key): an escalation
is inserted before it is acted on, so it fires once across hub processes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queue', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('assigned_agent_id', BigId, nullable=True))
        batch_op.add_column(sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_agent_id', BigId, nullable=True))
        batch_op.add_column(sa.Column('last_agent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_agent_reply_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('tags', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('skills', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('excluded_agents', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('handoff_note', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('csat_asked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key('fk_conversations_assigned_agent_id', 'staff_users', ['assigned_agent_id'], ['id'])
        batch_op.create_foreign_key('fk_conversations_last_agent_id', 'staff_users', ['last_agent_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_conversations_queue'), ['queue'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversations_assigned_agent_id'), ['assigned_agent_id'], unique=False)
        batch_op.create_index('ix_conversations_state', ['state'], unique=False)

    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('skills', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('queues', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('max_concurrent', sa.Integer(), server_default=sa.text('4'), nullable=False))
        batch_op.add_column(sa.Column('max_per_channel', sa.JSON(), server_default=sa.text("'{}'"), nullable=False))
        batch_op.add_column(sa.Column('presence', sa.String(length=12), server_default=sa.text("'offline'"),
                                      nullable=False))
        batch_op.add_column(sa.Column('presence_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_assigned_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('csat_responses',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('agent_id', BigId, nullable=True),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('nps', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('score BETWEEN 1 AND 5', name='ck_csat_responses_score'),
    sa.CheckConstraint('nps IS NULL OR nps BETWEEN 0 AND 10', name='ck_csat_responses_nps'),
    sa.ForeignKeyConstraint(['agent_id'], ['staff_users.id'], ),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('csat_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_csat_responses_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_csat_responses_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_csat_responses_created_at'), ['created_at'], unique=False)

    op.create_table('sla_escalations',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('key', sa.String(length=96), nullable=False),
    sa.Column('metric', sa.String(length=32), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=128), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('conversation_id', 'key', name='uq_sla_escalations_conversation_key')
    )
    op.create_table('round_robin_cursors',
    sa.Column('queue', sa.String(length=32), nullable=False),
    sa.Column('last_agent_id', BigId, nullable=False),
    sa.PrimaryKeyConstraint('queue')
    )


def downgrade() -> None:
    op.drop_table('round_robin_cursors')
    op.drop_table('sla_escalations')
    with op.batch_alter_table('csat_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_csat_responses_created_at'))
        batch_op.drop_index(batch_op.f('ix_csat_responses_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_csat_responses_agent_id'))
    op.drop_table('csat_responses')

    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        for column in ('last_assigned_at', 'presence_at', 'presence', 'max_per_channel', 'max_concurrent',
                       'queues', 'skills'):
            batch_op.drop_column(column)

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_state')
        batch_op.drop_index(batch_op.f('ix_conversations_assigned_agent_id'))
        batch_op.drop_index(batch_op.f('ix_conversations_queue'))
        batch_op.drop_constraint('fk_conversations_last_agent_id', type_='foreignkey')
        batch_op.drop_constraint('fk_conversations_assigned_agent_id', type_='foreignkey')
        for column in ('csat_asked_at', 'handoff_note', 'excluded_agents', 'skills', 'tags', 'outcome',
                       'resolved_at', 'first_response_at', 'waiting_since', 'last_agent_reply_at',
                       'last_agent_at', 'last_agent_id', 'assigned_at', 'assigned_agent_id', 'queue'):
            batch_op.drop_column(column)
