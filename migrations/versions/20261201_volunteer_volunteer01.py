"""volunteer: projects, shifts, sign-ups, hours, certificates

Revision ID: volunteer01
Revises: platform01
Create Date: 2026-12-01

On PostgreSQL, an exclusion constraint (extension btree_gist, trusted since PostgreSQL 13, so a
database owner may create it) refuses two overlapping active sign-ups of one person, whatever runs
concurrently; back-to-back shifts pass ('[)' ranges). SQLite has none: the service checks inside its
serialised write transaction. The history of hours is append-only on both databases.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'volunteer01'
down_revision: str | Sequence[str] | None = 'platform01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('volunteer_projects',
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
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('requirements', sa.String(length=1000), nullable=True),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('district', sa.String(length=16), nullable=False),
    sa.Column('place', sa.String(length=100), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lng', sa.Float(), nullable=False),
    sa.Column('contact_name', sa.String(length=32), nullable=False),
    sa.Column('contact_phone', sa.Text(), nullable=False),
    sa.Column('min_age', sa.Integer(), nullable=False),
    sa.Column('waitlist_enabled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_volunteer_projects_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_projects'))
    )
    with op.batch_alter_table('volunteer_projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_projects_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteer_projects_district'), ['district'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteer_projects_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteer_projects_status'), ['status'], unique=False)

    op.create_table('volunteer_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=True),
    sa.Column('period_to', sa.Date(), nullable=True),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('total_minutes', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=500), nullable=True),
    sa.Column('revoked_by', sa.Integer(), nullable=True),
    sa.Column('revoke_kind', sa.String(length=24), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['volunteer_projects.id'], name=op.f('fk_volunteer_certificates_project_id_volunteer_projects')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_volunteer_certificates_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_certificates')),
    sa.UniqueConstraint('code', name=op.f('uq_volunteer_certificates_code'))
    )
    with op.batch_alter_table('volunteer_certificates', schema=None) as batch_op:
        batch_op.create_index('ix_volunteer_certificates_user', ['user_id', 'id'], unique=False)

    op.create_table('volunteer_shifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signup_closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('place', sa.String(length=100), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lng', sa.Float(), nullable=True),
    sa.Column('check_in_radius_m', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('taken', sa.Integer(), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('no_shows_marked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_volunteer_shifts_ends_after_start')),
    sa.CheckConstraint('taken >= 0 AND taken <= capacity', name=op.f('ck_volunteer_shifts_taken_within_capacity')),
    sa.ForeignKeyConstraint(['project_id'], ['volunteer_projects.id'], name=op.f('fk_volunteer_shifts_project_id_volunteer_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_shifts'))
    )
    with op.batch_alter_table('volunteer_shifts', schema=None) as batch_op:
        batch_op.create_index('ix_volunteer_shifts_due', ['ends_at', 'no_shows_marked_at'], unique=False)
        batch_op.create_index('ix_volunteer_shifts_project_start', ['project_id', 'starts_at'], unique=False)

    op.create_table('volunteer_signups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('promoted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('late_cancel', sa.Boolean(), nullable=False),
    sa.Column('guardian_name', sa.String(length=32), nullable=True),
    sa.Column('guardian_phone', sa.Text(), nullable=True),
    sa.Column('guardian_consent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_in_by', sa.Integer(), nullable=True),
    sa.Column('check_in_distance_m', sa.Integer(), nullable=True),
    sa.Column('check_in_accuracy_m', sa.Integer(), nullable=True),
    sa.Column('checked_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_out_by', sa.Integer(), nullable=True),
    sa.Column('check_out_distance_m', sa.Integer(), nullable=True),
    sa.Column('check_out_accuracy_m', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['volunteer_projects.id'], name=op.f('fk_volunteer_signups_project_id_volunteer_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shift_id'], ['volunteer_shifts.id'], name=op.f('fk_volunteer_signups_shift_id_volunteer_shifts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_volunteer_signups_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_signups'))
    )
    with op.batch_alter_table('volunteer_signups', schema=None) as batch_op:
        batch_op.create_index('ix_volunteer_signups_queue', ['shift_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_volunteer_signups_user', ['user_id', 'status', 'starts_at'], unique=False)
        batch_op.create_index('uq_volunteer_signups_active', ['shift_id', 'user_id'], unique=True, postgresql_where=sa.text("status IN ('signed_up', 'waitlisted')"), sqlite_where=sa.text("status IN ('signed_up', 'waitlisted')"))

    op.create_table('volunteer_hours',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('signup_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('served_on', sa.Date(), nullable=False),
    sa.Column('measured_minutes', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('missing_check_out', sa.Boolean(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by', sa.Integer(), nullable=True),
    sa.Column('remind_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dispute_status', sa.String(length=16), nullable=True),
    sa.Column('dispute_reason', sa.String(length=500), nullable=True),
    sa.Column('disputed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dispute_answer', sa.String(length=500), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_volunteer_hours_org_id_organisations')),
    sa.ForeignKeyConstraint(['project_id'], ['volunteer_projects.id'], name=op.f('fk_volunteer_hours_project_id_volunteer_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shift_id'], ['volunteer_shifts.id'], name=op.f('fk_volunteer_hours_shift_id_volunteer_shifts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['signup_id'], ['volunteer_signups.id'], name=op.f('fk_volunteer_hours_signup_id_volunteer_signups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_volunteer_hours_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_hours')),
    sa.UniqueConstraint('signup_id', name=op.f('uq_volunteer_hours_signup_id'))
    )
    with op.batch_alter_table('volunteer_hours', schema=None) as batch_op:
        batch_op.create_index('ix_volunteer_hours_org', ['org_id', 'status', 'due_at'], unique=False)
        batch_op.create_index('ix_volunteer_hours_remind', ['status', 'remind_at', 'reminded_at'], unique=False)
        batch_op.create_index('ix_volunteer_hours_user', ['user_id', 'status', 'served_on'], unique=False)

    op.create_table('volunteer_certificate_hours',
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('hours_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['volunteer_certificates.id'], name=op.f('fk_volunteer_certificate_hours_certificate_id_volunteer_certificates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hours_id'], ['volunteer_hours.id'], name=op.f('fk_volunteer_certificate_hours_hours_id_volunteer_hours')),
    sa.PrimaryKeyConstraint('certificate_id', 'hours_id', name=op.f('pk_volunteer_certificate_hours'))
    )
    with op.batch_alter_table('volunteer_certificate_hours', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_certificate_hours_hours_id'), ['hours_id'], unique=False)

    op.create_table('volunteer_hours_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hours_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_role', sa.String(length=16), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('minutes_before', sa.Integer(), nullable=True),
    sa.Column('minutes_after', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['hours_id'], ['volunteer_hours.id'], name=op.f('fk_volunteer_hours_events_hours_id_volunteer_hours')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_hours_events'))
    )
    with op.batch_alter_table('volunteer_hours_events', schema=None) as batch_op:
        batch_op.create_index('ix_volunteer_hours_events_hours', ['hours_id', 'id'], unique=False)



    _no_overlapping_signups()
    _history_append_only()


def _no_overlapping_signups() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        "ALTER TABLE volunteer_signups ADD CONSTRAINT ex_volunteer_signups_no_overlap "
        "EXCLUDE USING gist (user_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
        "WHERE (status IN ('signed_up', 'waitlisted'))"
    )


def _history_append_only() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION volunteer_hours_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'volunteer_hours_events is append-only'; END $$;
            """
        )
        op.execute(
            "CREATE TRIGGER volunteer_hours_events_no_change BEFORE UPDATE OR DELETE ON volunteer_hours_events "
            "FOR EACH ROW EXECUTE FUNCTION volunteer_hours_events_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER volunteer_hours_events_no_{event.lower()} BEFORE {event} ON volunteer_hours_events "
                "BEGIN SELECT RAISE(ABORT, 'volunteer_hours_events is append-only'); END"
            )


def downgrade() -> None:
    # btree_gist stays installed: other schemas or later migrations may use it, and it holds no data.
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS volunteer_hours_events_no_change ON volunteer_hours_events")
        op.execute("DROP FUNCTION IF EXISTS volunteer_hours_events_append_only()")
        op.execute("ALTER TABLE volunteer_signups DROP CONSTRAINT IF EXISTS ex_volunteer_signups_no_overlap")
    else:
        op.execute("DROP TRIGGER IF EXISTS volunteer_hours_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS volunteer_hours_events_no_delete")
    with op.batch_alter_table('volunteer_hours_events', schema=None) as batch_op:
        batch_op.drop_index('ix_volunteer_hours_events_hours')

    op.drop_table('volunteer_hours_events')
    with op.batch_alter_table('volunteer_certificate_hours', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_certificate_hours_hours_id'))

    op.drop_table('volunteer_certificate_hours')
    with op.batch_alter_table('volunteer_hours', schema=None) as batch_op:
        batch_op.drop_index('ix_volunteer_hours_user')
        batch_op.drop_index('ix_volunteer_hours_remind')
        batch_op.drop_index('ix_volunteer_hours_org')

    op.drop_table('volunteer_hours')
    with op.batch_alter_table('volunteer_signups', schema=None) as batch_op:
        batch_op.drop_index('uq_volunteer_signups_active', postgresql_where=sa.text("status IN ('signed_up', 'waitlisted')"), sqlite_where=sa.text("status IN ('signed_up', 'waitlisted')"))
        batch_op.drop_index('ix_volunteer_signups_user')
        batch_op.drop_index('ix_volunteer_signups_queue')

    op.drop_table('volunteer_signups')
    with op.batch_alter_table('volunteer_shifts', schema=None) as batch_op:
        batch_op.drop_index('ix_volunteer_shifts_project_start')
        batch_op.drop_index('ix_volunteer_shifts_due')

    op.drop_table('volunteer_shifts')
    with op.batch_alter_table('volunteer_certificates', schema=None) as batch_op:
        batch_op.drop_index('ix_volunteer_certificates_user')

    op.drop_table('volunteer_certificates')
    with op.batch_alter_table('volunteer_projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volunteer_projects_status'))
        batch_op.drop_index(batch_op.f('ix_volunteer_projects_org_id'))
        batch_op.drop_index(batch_op.f('ix_volunteer_projects_district'))
        batch_op.drop_index(batch_op.f('ix_volunteer_projects_category'))

    op.drop_table('volunteer_projects')
