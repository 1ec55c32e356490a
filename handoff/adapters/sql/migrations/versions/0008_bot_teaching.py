"""bot teaching: the staff layer (issue 11)

- `bot_layer` (one row, id 1): the layer's version, bumped by every change;
- `bot_layer_changes`: append-only history (version, who, action, subject, data);
- `bot_staff_intents`: intents taught by staff (`staff_<slug>`), examples, reason, answer, handoff,
  the admin's red-flag override when one was given;
- `bot_answer_edits`: staff's text for existing simple bot answers (`utter_*`);
- `bot_labels`: patient messages labelled by staff (an intent, or ignored), text masked, and the
  admin's red-flag override when a red flag was labelled with a non-urgent intent.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 22:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    layer = op.create_table('bot_layer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.bulk_insert(layer, [{'id': 1, 'version': 0}])
    op.create_table('bot_layer_changes',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('staff_id', BigId, nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=128), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('version')
    )
    with op.batch_alter_table('bot_layer_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bot_layer_changes_staff_id'), ['staff_id'], unique=False)
    op.create_table('bot_staff_intents',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.Column('examples', sa.JSON(), nullable=False),
    sa.Column('answer_text', sa.Text(), nullable=True),
    sa.Column('answer_buttons', sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
    sa.Column('handoff', sa.JSON(), nullable=True),
    sa.Column('red_flag_override', sa.JSON(), nullable=True),
    sa.Column('created_by', BigId, nullable=True),
    sa.Column('updated_by', BigId, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['staff_users.id'], ),
    sa.ForeignKeyConstraint(['updated_by'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('bot_answer_edits',
    sa.Column('utter', sa.String(length=96), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('updated_by', BigId, nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('utter')
    )
    op.create_table('bot_labels',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('message_id', BigId, nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('intent', sa.String(length=64), nullable=True),
    sa.Column('ignored', sa.Boolean(), nullable=False),
    sa.Column('red_flag_override', sa.JSON(), nullable=True),
    sa.Column('staff_id', BigId, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    with op.batch_alter_table('bot_labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bot_labels_staff_id'), ['staff_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('bot_labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bot_labels_staff_id'))
    op.drop_table('bot_labels')
    op.drop_table('bot_answer_edits')
    op.drop_table('bot_staff_intents')
    with op.batch_alter_table('bot_layer_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bot_layer_changes_staff_id'))
    op.drop_table('bot_layer_changes')
    op.drop_table('bot_layer')
