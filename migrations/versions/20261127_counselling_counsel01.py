"""counselling

Revision ID: counsel01
Revises: 0001
Create Date: 2026-11-27 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'counsel01'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('counsellors',
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('review_flag', sa.String(length=64), nullable=True),
    sa.Column('review_reason', sa.String(length=500), nullable=True),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hidden_by_reports', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('display_name', sa.String(length=32), nullable=False),
    sa.Column('gender', sa.String(length=8), nullable=False),
    sa.Column('qualifications', sa.JSON(), nullable=False),
    sa.Column('specialties', sa.JSON(), nullable=False),
    sa.Column('modes', sa.JSON(), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('photo_url', sa.String(length=500), nullable=True),
    sa.Column('introduction', sa.String(length=1000), nullable=True),
    sa.Column('tags', sa.String(length=300), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_counsellors_org_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_counsellors_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counsellors')),
    sa.UniqueConstraint('user_id', name=op.f('uq_counsellors_user_id'))
    )
    with op.batch_alter_table('counsellors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_counsellors_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_counsellors_status'), ['status'], unique=False)

    op.create_table('counselling_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('counsellor_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['counsellor_id'], ['counsellors.id'], name=op.f('fk_counselling_slots_counsellor_id_counsellors')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_counselling_slots_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counselling_slots'))
    )
    with op.batch_alter_table('counselling_slots', schema=None) as batch_op:
        batch_op.create_index('ix_counselling_slots_counsellor_start', ['counsellor_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_counselling_slots_org_id'), ['org_id'], unique=False)
        batch_op.create_index('uq_counselling_slots_live_start', ['counsellor_id', 'starts_at'], unique=True, sqlite_where=sa.text("status IN ('free', 'booked')"), postgresql_where=sa.text("status IN ('free', 'booked')"))

    op.create_table('counselling_bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('counsellor_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('nickname', sa.String(length=16), nullable=True),
    sa.Column('age_band', sa.String(length=8), nullable=False),
    sa.Column('intake', sa.Text(), nullable=False),
    sa.Column('risk_flag', sa.Boolean(), nullable=False),
    sa.Column('late_change', sa.Boolean(), nullable=False),
    sa.Column('reschedule_count', sa.Integer(), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('attendance_marked_by', sa.Integer(), nullable=True),
    sa.Column('attendance_marked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['counsellor_id'], ['counsellors.id'], name=op.f('fk_counselling_bookings_counsellor_id_counsellors')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_counselling_bookings_org_id_organisations')),
    sa.ForeignKeyConstraint(['slot_id'], ['counselling_slots.id'], name=op.f('fk_counselling_bookings_slot_id_counselling_slots')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_counselling_bookings_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counselling_bookings'))
    )
    with op.batch_alter_table('counselling_bookings', schema=None) as batch_op:
        batch_op.create_index('ix_counselling_bookings_counsellor_start', ['counsellor_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_counselling_bookings_org_start', ['org_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_counselling_bookings_user_status', ['user_id', 'status', 'starts_at'], unique=False)
        batch_op.create_index('uq_counselling_bookings_holding_slot', ['slot_id'], unique=True, sqlite_where=sa.text("status IN ('booked', 'attended', 'no_show')"), postgresql_where=sa.text("status IN ('booked', 'attended', 'no_show')"))

    op.create_table('counselling_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_counselling_notes_author_id_users')),
    sa.ForeignKeyConstraint(['booking_id'], ['counselling_bookings.id'], name=op.f('fk_counselling_notes_booking_id_counselling_bookings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counselling_notes')),
    sa.UniqueConstraint('booking_id', 'author_id', name=op.f('uq_counselling_notes_booking_id_author_id'))
    )


def downgrade() -> None:
    op.drop_table('counselling_notes')
    with op.batch_alter_table('counselling_bookings', schema=None) as batch_op:
        batch_op.drop_index('uq_counselling_bookings_holding_slot', sqlite_where=sa.text("status IN ('booked', 'attended', 'no_show')"), postgresql_where=sa.text("status IN ('booked', 'attended', 'no_show')"))
        batch_op.drop_index('ix_counselling_bookings_user_status')
        batch_op.drop_index('ix_counselling_bookings_org_start')
        batch_op.drop_index('ix_counselling_bookings_counsellor_start')

    op.drop_table('counselling_bookings')
    with op.batch_alter_table('counselling_slots', schema=None) as batch_op:
        batch_op.drop_index('uq_counselling_slots_live_start', sqlite_where=sa.text("status IN ('free', 'booked')"), postgresql_where=sa.text("status IN ('free', 'booked')"))
        batch_op.drop_index(batch_op.f('ix_counselling_slots_org_id'))
        batch_op.drop_index('ix_counselling_slots_counsellor_start')

    op.drop_table('counselling_slots')
    with op.batch_alter_table('counsellors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_counsellors_status'))
        batch_op.drop_index(batch_op.f('ix_counsellors_org_id'))

    op.drop_table('counsellors')
