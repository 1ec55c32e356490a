"""bot model registry (issue 11): training runs, evaluation, gate, deploy and rollback

- `bot_models`: one row per training run of the staff layer (status queued|training|evaluating|
  ready|failed|deployed|retired, layer version, who asked, progress, model file, evaluation and
  gate JSON, deployed at/by, the model served before it for a rollback, the staff intents'
  reasons the hub's reason map gains while it is deployed).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 22:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('bot_models',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('layer_version', sa.Integer(), nullable=False),
    sa.Column('requested_by', BigId, nullable=True),
    sa.Column('progress_pct', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('progress_stage', sa.String(length=32), nullable=True),
    sa.Column('model_path', sa.String(length=512), nullable=True),
    sa.Column('evaluation', sa.JSON(), nullable=True),
    sa.Column('gate', sa.JSON(), nullable=True),
    sa.Column('timings', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('gate_override', sa.JSON(), nullable=True),
    sa.Column('previous_model', sa.String(length=512), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deployed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deployed_by', BigId, nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['deployed_by'], ['staff_users.id'], ),
    sa.ForeignKeyConstraint(['requested_by'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('bot_models', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bot_models_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('bot_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bot_models_status'))
    op.drop_table('bot_models')
