"""counselling: duty list, opening hours, risk follow-ups, slot counters

Slots move from a free/booked status to the capacity counter of app.kit.capacity: status becomes
open | withdrawn, and a booked slot is an open one with taken = capacity = 1.

Revision ID: counselrisk01
Revises: restrict01
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'counselrisk01'
down_revision: str | Sequence[str] | None = 'restrict01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_LIVE = "status IN ('free', 'booked')"
_OPEN = "status = 'open'"


def upgrade() -> None:
    op.create_table('counselling_centres',
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('opening_hours', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_counselling_centres_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_counselling_centres_updated_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('org_id', name=op.f('pk_counselling_centres'))
    )
    op.create_table('counselling_duty',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('added_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by'], ['users.id'], name=op.f('fk_counselling_duty_added_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_counselling_duty_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_counselling_duty_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counselling_duty')),
    sa.UniqueConstraint('org_id', 'user_id', name=op.f('uq_counselling_duty_org_id_user_id'))
    )
    with op.batch_alter_table('counselling_duty', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_counselling_duty_org_id'), ['org_id'], unique=False)

    op.create_table('counselling_risk_followups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_counselling_risk_followups_author_id_users')),
    sa.ForeignKeyConstraint(['booking_id'], ['counselling_bookings.id'], name=op.f('fk_counselling_risk_followups_booking_id_counselling_bookings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counselling_risk_followups'))
    )
    with op.batch_alter_table('counselling_risk_followups', schema=None) as batch_op:
        batch_op.create_index('ix_counselling_risk_followups_booking', ['booking_id', 'id'], unique=False)

    with op.batch_alter_table('counselling_bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('risk_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('risk_acknowledged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('risk_acknowledged_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('risk_escalated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_counselling_bookings_risk_open', ['risk_due_at'], unique=False, sqlite_where=sa.text('risk_due_at IS NOT NULL AND risk_acknowledged_at IS NULL'), postgresql_where=sa.text('risk_due_at IS NOT NULL AND risk_acknowledged_at IS NULL'))
        batch_op.create_foreign_key(batch_op.f('fk_counselling_bookings_risk_acknowledged_by_users'), 'users', ['risk_acknowledged_by'], ['id'])

    with op.batch_alter_table('counselling_slots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('capacity', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('taken', sa.Integer(), nullable=False, server_default='0'))
        batch_op.drop_index('uq_counselling_slots_live_start', sqlite_where=sa.text(_OLD_LIVE),
                            postgresql_where=sa.text(_OLD_LIVE))
    op.execute("UPDATE counselling_slots SET taken = 1 WHERE status = 'booked'")
    op.execute("UPDATE counselling_slots SET status = 'open' WHERE status IN ('free', 'booked')")
    with op.batch_alter_table('counselling_slots', schema=None) as batch_op:
        batch_op.create_index('uq_counselling_slots_live_start', ['counsellor_id', 'starts_at'], unique=True,
                              sqlite_where=sa.text(_OPEN), postgresql_where=sa.text(_OPEN))
        batch_op.create_check_constraint(op.f('ck_counselling_slots_taken_within_capacity'), 'taken >= 0 AND taken <= capacity')


def downgrade() -> None:
    with op.batch_alter_table('counselling_slots', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_counselling_slots_taken_within_capacity'), type_='check')
        batch_op.drop_index('uq_counselling_slots_live_start', sqlite_where=sa.text(_OPEN),
                            postgresql_where=sa.text(_OPEN))
    op.execute("UPDATE counselling_slots SET status = CASE WHEN taken > 0 THEN 'booked' ELSE 'free' END "
               "WHERE status = 'open'")
    with op.batch_alter_table('counselling_slots', schema=None) as batch_op:
        batch_op.create_index('uq_counselling_slots_live_start', ['counsellor_id', 'starts_at'], unique=True,
                              sqlite_where=sa.text(_OLD_LIVE), postgresql_where=sa.text(_OLD_LIVE))
        batch_op.drop_column('taken')
        batch_op.drop_column('capacity')

    with op.batch_alter_table('counselling_bookings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_counselling_bookings_risk_acknowledged_by_users'), type_='foreignkey')
        batch_op.drop_index('ix_counselling_bookings_risk_open', sqlite_where=sa.text('risk_due_at IS NOT NULL AND risk_acknowledged_at IS NULL'), postgresql_where=sa.text('risk_due_at IS NOT NULL AND risk_acknowledged_at IS NULL'))
        batch_op.drop_column('risk_escalated_at')
        batch_op.drop_column('risk_acknowledged_by')
        batch_op.drop_column('risk_acknowledged_at')
        batch_op.drop_column('risk_due_at')

    with op.batch_alter_table('counselling_risk_followups', schema=None) as batch_op:
        batch_op.drop_index('ix_counselling_risk_followups_booking')

    op.drop_table('counselling_risk_followups')
    with op.batch_alter_table('counselling_duty', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_counselling_duty_org_id'))

    op.drop_table('counselling_duty')
    op.drop_table('counselling_centres')
