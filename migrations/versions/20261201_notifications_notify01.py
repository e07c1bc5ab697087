"""notifications: reminder keys (each reminder once) and muted reminder kinds

Revision ID: notify01
Revises: events02
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'notify01'
down_revision: str | Sequence[str] | None = 'events02'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notifications') as batch:
        batch.add_column(sa.Column('dedupe_key', sa.String(length=120), nullable=True))
        batch.create_unique_constraint(batch.f('uq_notifications_dedupe_key'), ['dedupe_key'])
    op.create_table('notification_mutes',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=48), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_mutes_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_notification_mutes'))
    )


def downgrade() -> None:
    op.drop_table('notification_mutes')
    with op.batch_alter_table('notifications') as batch:
        batch.drop_constraint(batch.f('uq_notifications_dedupe_key'), type_='unique')
        batch.drop_column('dedupe_key')
