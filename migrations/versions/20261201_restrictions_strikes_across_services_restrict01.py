"""restrictions: strikes across services

Revision ID: restrict01
Revises: kit01
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'restrict01'
down_revision: str | Sequence[str] | None = 'kit01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('restrictions',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=16), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_restrictions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'service', name=op.f('pk_restrictions'))
    )
    op.create_table('strikes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source_kind', sa.String(length=40), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('waived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('waived_by', sa.Integer(), nullable=True),
    sa.Column('waive_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_strikes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_strikes')),
    sa.UniqueConstraint('source_kind', 'source_id', 'kind', name=op.f('uq_strikes_source_kind_source_id_kind'))
    )
    with op.batch_alter_table('strikes', schema=None) as batch_op:
        batch_op.create_index('ix_strikes_user_service_at', ['user_id', 'service', 'at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('strikes', schema=None) as batch_op:
        batch_op.drop_index('ix_strikes_user_service_at')

    op.drop_table('strikes')
    op.drop_table('restrictions')
