"""identity: one patient across channels — the record of merges

`patient_merges` keeps every merge of two patient records done by staff (who, when, what moved);
the merged record stays, linked to the kept one through `patient_links`, so ids held elsewhere
(bot trackers, old links) still resolve.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('patient_merges',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('kept_patient_id', BigId, nullable=False),
    sa.Column('merged_patient_id', BigId, nullable=False),
    sa.Column('staff_id', BigId, nullable=True),
    sa.Column('moved', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['kept_patient_id'], ['patients.id'], ),
    sa.ForeignKeyConstraint(['merged_patient_id'], ['patients.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('merged_patient_id', name='uq_patient_merges_merged_patient_id')
    )
    with op.batch_alter_table('patient_merges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_merges_kept_patient_id'), ['kept_patient_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('patient_merges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_merges_kept_patient_id'))
    op.drop_table('patient_merges')
