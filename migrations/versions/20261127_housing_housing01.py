"""housing

Revision ID: housing01
Revises: 0001
Create Date: 2026-11-27 02:55:25.362737
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'housing01'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('housing_projects',
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
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('district', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lng', sa.Float(), nullable=False),
    sa.Column('metro_station', sa.String(length=50), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('amenities', sa.JSON(), nullable=False),
    sa.Column('photo_urls', sa.JSON(), nullable=False),
    sa.Column('allocation', sa.String(length=16), nullable=False),
    sa.Column('applications_close_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('intake_closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('min_age', sa.Integer(), nullable=False),
    sa.Column('max_age', sa.Integer(), nullable=False),
    sa.Column('require_no_home', sa.Boolean(), nullable=False),
    sa.Column('graduated_within_years', sa.Integer(), nullable=True),
    sa.Column('require_work_in_kunming', sa.Boolean(), nullable=False),
    sa.Column('min_rent_fen', sa.Integer(), nullable=True),
    sa.Column('max_rent_fen', sa.Integer(), nullable=True),
    sa.Column('units_total', sa.Integer(), nullable=False),
    sa.Column('units_available', sa.Integer(), nullable=False),
    sa.Column('units_remaining', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_housing_projects_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_housing_projects'))
    )
    with op.batch_alter_table('housing_projects', schema=None) as batch_op:
        batch_op.create_index('ix_housing_projects_district', ['status', 'hidden_by_reports', 'district', 'min_rent_fen'], unique=False)
        batch_op.create_index('ix_housing_projects_geo', ['status', 'hidden_by_reports', 'lat', 'lng', 'min_rent_fen', 'published_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_housing_projects_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_housing_projects_public_newest', ['status', 'hidden_by_reports', 'published_at', 'id'], unique=False)
        batch_op.create_index('ix_housing_projects_public_rent', ['status', 'hidden_by_reports', 'min_rent_fen', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_housing_projects_status'), ['status'], unique=False)

    op.create_table('housing_favourites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['housing_projects.id'], name=op.f('fk_housing_favourites_project_id_housing_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_housing_favourites_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_housing_favourites')),
    sa.UniqueConstraint('user_id', 'project_id', name=op.f('uq_housing_favourites_user_id_project_id'))
    )
    with op.batch_alter_table('housing_favourites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_housing_favourites_project_id'), ['project_id'], unique=False)

    op.create_table('housing_lotteries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('entries', sa.JSON(), nullable=False),
    sa.Column('list_sha256', sa.String(length=64), nullable=False),
    sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('frozen_by', sa.Integer(), nullable=True),
    sa.Column('seed', sa.String(length=200), nullable=True),
    sa.Column('seed_source', sa.String(length=200), nullable=True),
    sa.Column('seed_set_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('seed_set_by', sa.Integer(), nullable=True),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('order', sa.JSON(), nullable=True),
    sa.Column('drawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('drawn_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['housing_projects.id'], name=op.f('fk_housing_lotteries_project_id_housing_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_housing_lotteries')),
    sa.UniqueConstraint('project_id', name=op.f('uq_housing_lotteries_project_id'))
    )
    op.create_table('housing_lottery_draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('seed', sa.String(length=200), nullable=False),
    sa.Column('seed_source', sa.String(length=200), nullable=True),
    sa.Column('order', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('drawn_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('drawn_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['housing_projects.id'], name=op.f('fk_housing_lottery_draws_project_id_housing_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_housing_lottery_draws')),
    sa.UniqueConstraint('project_id', 'round', name=op.f('uq_housing_lottery_draws_project_id_round'))
    )
    op.create_table('housing_unit_types',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('layout', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=True),
    sa.Column('area_sqm', sa.Float(), nullable=False),
    sa.Column('rent_fen', sa.Integer(), nullable=False),
    sa.Column('deposit_fen', sa.Integer(), nullable=False),
    sa.Column('total_units', sa.Integer(), nullable=False),
    sa.Column('available_units', sa.Integer(), nullable=False),
    sa.Column('taken_units', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('available_units <= total_units', name=op.f('ck_housing_unit_types_available_within_total')),
    sa.CheckConstraint('taken_units <= available_units', name=op.f('ck_housing_unit_types_not_over_allocated')),
    sa.ForeignKeyConstraint(['project_id'], ['housing_projects.id'], name=op.f('fk_housing_unit_types_project_id_housing_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_housing_unit_types'))
    )
    with op.batch_alter_table('housing_unit_types', schema=None) as batch_op:
        batch_op.create_index('ix_housing_unit_types_search', ['project_id', 'layout', 'rent_fen'], unique=False)

    op.create_table('housing_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('unit_type_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.String(length=500), nullable=True),
    sa.Column('draw_position', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('offered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('offer_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['housing_projects.id'], name=op.f('fk_housing_applications_project_id_housing_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_type_id'], ['housing_unit_types.id'], name=op.f('fk_housing_applications_unit_type_id_housing_unit_types')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_housing_applications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_housing_applications')),
    sa.UniqueConstraint('number', name=op.f('uq_housing_applications_number'))
    )
    with op.batch_alter_table('housing_applications', schema=None) as batch_op:
        batch_op.create_index('ix_housing_applications_offer_due', ['status', 'offer_expires_at'], unique=False)
        batch_op.create_index('ix_housing_applications_project_status', ['project_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_housing_applications_user_status', ['user_id', 'status'], unique=False)
        batch_op.create_index('uq_housing_applications_active', ['user_id', 'project_id'], unique=True, sqlite_where=sa.text("status IN ('submitted', 'eligible', 'offered', 'accepted')"), postgresql_where=sa.text("status IN ('submitted', 'eligible', 'offered', 'accepted')"))

    op.create_table('housing_application_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('actor_role', sa.String(length=16), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['housing_applications.id'], name=op.f('fk_housing_application_events_application_id_housing_applications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_housing_application_events'))
    )
    with op.batch_alter_table('housing_application_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_housing_application_events_application_id'), ['application_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('housing_application_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_housing_application_events_application_id'))

    op.drop_table('housing_application_events')
    with op.batch_alter_table('housing_applications', schema=None) as batch_op:
        batch_op.drop_index('uq_housing_applications_active', sqlite_where=sa.text("status IN ('submitted', 'eligible', 'offered', 'accepted')"), postgresql_where=sa.text("status IN ('submitted', 'eligible', 'offered', 'accepted')"))
        batch_op.drop_index('ix_housing_applications_user_status')
        batch_op.drop_index('ix_housing_applications_project_status')
        batch_op.drop_index('ix_housing_applications_offer_due')

    op.drop_table('housing_applications')
    with op.batch_alter_table('housing_unit_types', schema=None) as batch_op:
        batch_op.drop_index('ix_housing_unit_types_search')

    op.drop_table('housing_unit_types')
    op.drop_table('housing_lottery_draws')
    op.drop_table('housing_lotteries')
    with op.batch_alter_table('housing_favourites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_housing_favourites_project_id'))

    op.drop_table('housing_favourites')
    with op.batch_alter_table('housing_projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_housing_projects_status'))
        batch_op.drop_index('ix_housing_projects_public_rent')
        batch_op.drop_index('ix_housing_projects_public_newest')
        batch_op.drop_index(batch_op.f('ix_housing_projects_org_id'))
        batch_op.drop_index('ix_housing_projects_geo')
        batch_op.drop_index('ix_housing_projects_district')

    op.drop_table('housing_projects')
