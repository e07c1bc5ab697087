"""trust: login throttles, token versions, identity claims, usernames unique whatever their case

Data: usernames that differ only in case are renamed (the oldest account keeps the name), and stored
ID numbers are audited: any spelled with non-ASCII characters (full-width digits made one number
several lookup hashes before the validator refused them) and any on a non-youth account are reported.
Both are printed through the migration's log, as warnings naming the accounts.

Revision ID: trust01
Revises: volunteer01
Create Date: 2026-12-01
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

log = logging.getLogger("alembic.runtime.migration")

revision: str = 'trust01'
down_revision: str | Sequence[str] | None = 'volunteer01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('login_throttles',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttles'))
    )
    op.create_table('identity_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('real_name', sa.String(length=32), nullable=False),
    sa.Column('id_number', sa.Text(), nullable=False),
    sa.Column('id_number_hash', sa.String(length=64), nullable=False),
    sa.Column('id_number_masked', sa.String(length=18), nullable=False),
    sa.Column('evidence', sa.String(length=500), nullable=True),
    sa.Column('held_by_other', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_identity_claims_decided_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_identity_claims_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_claims'))
    )
    with op.batch_alter_table('identity_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_claims_id_number_hash'), ['id_number_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_claims_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_claims_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_failures_key_at'))

    op.drop_table('login_failures')
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_reason', sa.String(length=16), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('identity_source', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('identity_bound_at', sa.DateTime(timezone=True), nullable=True))

    bind = op.get_bind()
    _rename_case_clashes(bind)
    # Not in batch mode: SQLite's batch copy cannot reflect an index on an expression. (A later batch
    # migration of `users` on SQLite would drop it: tests/api/test_auth.py checks that it is there.)
    op.create_index('uq_users_username_lower', 'users', [sa.text('lower(username)')], unique=True)
    _audit_id_numbers(bind)


def _rename_case_clashes(bind: sa.Connection) -> None:
    rows = bind.execute(sa.text(
        "SELECT id, username FROM users WHERE username IS NOT NULL AND lower(username) IN "
        "(SELECT lower(username) FROM users WHERE username IS NOT NULL GROUP BY lower(username) "
        "HAVING count(*) > 1) ORDER BY lower(username), id")).all()
    kept: set[str] = set()
    for user_id, username in rows:
        if username.lower() not in kept:
            kept.add(username.lower())
            continue
        # The later account posed beside an existing name: it loses the name, an operator tells its owner.
        new = f"{username[:50]}.dup{user_id}"
        bind.execute(sa.text("UPDATE users SET username = :new WHERE id = :id"), {"new": new, "id": user_id})
        log.warning("username %r of user %s clashes with an older account in case only: renamed to %r",
                    username, user_id, new)


def _audit_id_numbers(bind: sa.Connection) -> None:
    from app import crypto
    from app.validators import is_ascii_id_spelling

    rows = bind.execute(sa.text(
        "SELECT id, role, id_number FROM users WHERE id_number IS NOT NULL OR id_number_hash IS NOT NULL")).all()
    unreadable = 0
    for user_id, role, stored in rows:
        if role != "youth":
            log.warning("user %s (%s) carries an ID number: only youth accounts may; review it", user_id, role)
        if stored is None:
            continue
        try:
            number = crypto.decrypt(stored, "users.id_number")
        except ValueError:
            unreadable += 1
            continue
        if not is_ascii_id_spelling(number):
            log.warning("user %s: stored ID number is not spelled in ASCII digits (its lookup hash differs "
                        "from the ASCII spelling's): the same person may hold a second account", user_id)
    if unreadable:
        log.warning("%s stored ID numbers could not be decrypted with YOUTH_FIELD_KEY: not audited", unreadable)


def downgrade() -> None:
    op.drop_index('uq_users_username_lower', table_name='users')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('identity_bound_at')
        batch_op.drop_column('identity_source')
        batch_op.drop_column('token_version')

    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_column('revoked_reason')

    op.create_table('login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures'))
    )
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_failures_key_at'), ['key', 'at'], unique=False)

    with op.batch_alter_table('identity_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_claims_user_id'))
        batch_op.drop_index(batch_op.f('ix_identity_claims_status'))
        batch_op.drop_index(batch_op.f('ix_identity_claims_id_number_hash'))

    op.drop_table('identity_claims')
    op.drop_table('login_throttles')
