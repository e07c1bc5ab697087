"""events: strikes and restrictions in the shared record; the last change of time or place

Data: each registration's strike (a no-show, or a late cancellation, with its moment in
``event_registrations.strike_at``) becomes a row of ``strikes`` (service ``events``), and each row of
``event_restrictions`` a row of ``restrictions``; then the column and the table go. The downgrade
copies them back and removes the events' rows from the shared tables.

Revision ID: events02
Revises: trust01
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'events02'
down_revision: str | Sequence[str] | None = 'trust01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('events', sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_events_due', 'events', ['ends_at', 'no_shows_marked_at'], unique=False)

    op.execute("""
        INSERT INTO strikes (user_id, service, kind, source_kind, source_id, at, created_at)
        SELECT r.user_id, 'events', CASE WHEN r.late_cancel THEN 'late_cancel' ELSE 'no_show' END,
               'event_registration', r.id, r.strike_at, r.strike_at
        FROM event_registrations r
        WHERE r.strike_at IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM strikes s WHERE s.source_kind = 'event_registration' AND s.source_id = r.id)
    """)
    op.execute("""
        INSERT INTO restrictions (user_id, service, since, until, reason, created_at)
        SELECT e.user_id, 'events', e.since, e.until, e.reason, e.created_at
        FROM event_restrictions e
        WHERE NOT EXISTS (SELECT 1 FROM restrictions r WHERE r.user_id = e.user_id AND r.service = 'events')
    """)

    op.drop_index('ix_event_registrations_strikes', table_name='event_registrations')
    # Plain ALTER TABLE on both databases (SQLite 3.35+): a batch copy of the table would have to
    # carry its partial unique index over by hand.
    op.execute("ALTER TABLE event_registrations DROP COLUMN strike_at")
    op.drop_table('event_restrictions')


def downgrade() -> None:
    op.create_table('event_restrictions',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_event_restrictions_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_event_restrictions'))
    )
    op.add_column('event_registrations', sa.Column('strike_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_event_registrations_strikes', 'event_registrations', ['user_id', 'strike_at'], unique=False)

    op.execute("""
        UPDATE event_registrations SET strike_at = (
            SELECT s.at FROM strikes s WHERE s.source_kind = 'event_registration' AND s.source_id = event_registrations.id
              AND s.waived_at IS NULL ORDER BY s.id LIMIT 1)
    """)
    op.execute("""
        INSERT INTO event_restrictions (user_id, since, until, reason, created_at)
        SELECT user_id, since, until, reason, created_at FROM restrictions
        WHERE service = 'events' AND lifted_at IS NULL
    """)
    op.execute("DELETE FROM strikes WHERE service = 'events'")
    op.execute("DELETE FROM restrictions WHERE service = 'events'")

    op.drop_index('ix_events_due', table_name='events')
    op.execute("ALTER TABLE events DROP COLUMN changed_at")
