"""openings: internship posts, incubator places, applications

Revision ID: openings01
Revises: notify01
Create Date: 2026-12-01

Internship posts and incubator places share the table ``openings`` (one id space); applications keep
their résumé or venture and an encrypted contact; their status history is append-only on both
databases (a trigger refuses UPDATE and DELETE), like the volunteering history of hours.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'openings01'
down_revision: str | Sequence[str] | None = 'notify01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('opening_resumes',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('school', sa.String(length=100), nullable=True),
    sa.Column('major', sa.String(length=50), nullable=True),
    sa.Column('education', sa.String(length=16), nullable=True),
    sa.Column('graduation_year', sa.Integer(), nullable=True),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('self_intro', sa.String(length=2000), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_opening_resumes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_opening_resumes'))
    )
    op.create_table('openings',
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
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('district', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lng', sa.Float(), nullable=True),
    sa.Column('places', sa.Integer(), nullable=False),
    sa.Column('taken', sa.Integer(), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('contact_name', sa.String(length=32), nullable=False),
    sa.Column('contact_phone', sa.Text(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('stipend_fen', sa.Integer(), nullable=True),
    sa.Column('duration_months', sa.Integer(), nullable=True),
    sa.Column('min_education', sa.String(length=16), nullable=True),
    sa.Column('education_rank', sa.Integer(), nullable=False),
    sa.Column('majors', sa.JSON(), nullable=False),
    sa.Column('majors_text', sa.String(length=1000), nullable=False),
    sa.Column('min_age', sa.Integer(), nullable=False),
    sa.Column('max_age', sa.Integer(), nullable=False),
    sa.Column('graduated_within_years', sa.Integer(), nullable=True),
    sa.Column('free_office_months', sa.Integer(), nullable=True),
    sa.Column('mentoring', sa.Boolean(), nullable=False),
    sa.Column('funding_help', sa.Boolean(), nullable=False),
    sa.Column('offer_notes', sa.String(length=500), nullable=True),
    sa.Column('stages', sa.JSON(), nullable=False),
    sa.Column('sectors', sa.JSON(), nullable=False),
    sa.Column('deadline_closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('taken >= 0 AND taken <= places', name=op.f('ck_openings_taken_within_places')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_openings_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_openings'))
    )
    with op.batch_alter_table('openings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_openings_district'), ['district'], unique=False)
        batch_op.create_index('ix_openings_due', ['status', 'deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_openings_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_openings_public', ['status', 'hidden_by_reports', 'kind', 'deadline', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_openings_status'), ['status'], unique=False)

    op.create_table('opening_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opening_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('school', sa.String(length=100), nullable=True),
    sa.Column('major', sa.String(length=50), nullable=True),
    sa.Column('education', sa.String(length=16), nullable=True),
    sa.Column('graduation_year', sa.Integer(), nullable=True),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('self_intro', sa.String(length=2000), nullable=True),
    sa.Column('team_size', sa.Integer(), nullable=True),
    sa.Column('stage', sa.String(length=16), nullable=True),
    sa.Column('sector', sa.String(length=16), nullable=True),
    sa.Column('plan_summary', sa.String(length=2000), nullable=True),
    sa.Column('phone', sa.Text(), nullable=False),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('interview_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('interview_place', sa.String(length=200), nullable=True),
    sa.Column('interview_link', sa.String(length=500), nullable=True),
    sa.Column('offered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_by', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason_code', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_decision_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_seconds', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['opening_id'], ['openings.id'], name=op.f('fk_opening_applications_opening_id_openings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_opening_applications_org_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_opening_applications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opening_applications'))
    )
    with op.batch_alter_table('opening_applications', schema=None) as batch_op:
        batch_op.create_index('ix_opening_applications_offer_due', ['status', 'answer_by'], unique=False)
        batch_op.create_index('ix_opening_applications_opening', ['opening_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_opening_applications_org', ['org_id', 'first_decision_at'], unique=False)
        batch_op.create_index('ix_opening_applications_user', ['user_id', 'id'], unique=False)
        batch_op.create_index('uq_opening_applications_live', ['opening_id', 'user_id'], unique=True, sqlite_where=sa.text("status <> 'withdrawn'"), postgresql_where=sa.text("status <> 'withdrawn'"))

    op.create_table('opening_application_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_role', sa.String(length=16), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('reason_code', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['opening_applications.id'], name=op.f('fk_opening_application_events_application_id_opening_applications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opening_application_events'))
    )
    with op.batch_alter_table('opening_application_events', schema=None) as batch_op:
        batch_op.create_index('ix_opening_application_events_application', ['application_id', 'id'], unique=False)
    _history_append_only()


def _history_append_only() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION opening_application_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'opening_application_events is append-only'; END $$;
            """
        )
        op.execute(
            "CREATE TRIGGER opening_application_events_no_change BEFORE UPDATE OR DELETE ON opening_application_events "
            "FOR EACH ROW EXECUTE FUNCTION opening_application_events_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER opening_application_events_no_{event.lower()} BEFORE {event} "
                "ON opening_application_events BEGIN SELECT RAISE(ABORT, 'opening_application_events is append-only'); END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS opening_application_events_no_change ON opening_application_events")
        op.execute("DROP FUNCTION IF EXISTS opening_application_events_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS opening_application_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS opening_application_events_no_delete")
    with op.batch_alter_table('opening_application_events', schema=None) as batch_op:
        batch_op.drop_index('ix_opening_application_events_application')

    op.drop_table('opening_application_events')
    with op.batch_alter_table('opening_applications', schema=None) as batch_op:
        batch_op.drop_index('uq_opening_applications_live', sqlite_where=sa.text("status <> 'withdrawn'"), postgresql_where=sa.text("status <> 'withdrawn'"))
        batch_op.drop_index('ix_opening_applications_user')
        batch_op.drop_index('ix_opening_applications_org')
        batch_op.drop_index('ix_opening_applications_opening')
        batch_op.drop_index('ix_opening_applications_offer_due')

    op.drop_table('opening_applications')
    with op.batch_alter_table('openings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_openings_status'))
        batch_op.drop_index('ix_openings_public')
        batch_op.drop_index(batch_op.f('ix_openings_org_id'))
        batch_op.drop_index('ix_openings_due')
        batch_op.drop_index(batch_op.f('ix_openings_district'))

    op.drop_table('openings')
    op.drop_table('opening_resumes')
