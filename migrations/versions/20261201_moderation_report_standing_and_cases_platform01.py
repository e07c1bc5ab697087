"""moderation: report standing and cases

Reports now count only from reporters with standing (``reports.counted``), per target in
``report_cases``. Reports already stored were made under the old rule and count for nothing new;
the targets the old rule hid (open reports from five or more people) are marked urgent, so staff
see them first in the review queue.

Revision ID: platform01
Revises: counselrisk01
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'platform01'
down_revision: str | Sequence[str] | None = 'counselrisk01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('report_cases',
    sa.Column('target_kind', sa.String(length=40), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('standing', sa.Integer(), nullable=False),
    sa.Column('hiding', sa.Integer(), nullable=False),
    sa.Column('urgent_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('target_kind', 'target_id', name=op.f('pk_report_cases'))
    )
    with op.batch_alter_table('report_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_cases_urgent_since'), ['urgent_since'], unique=False)

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counted', sa.Boolean(), server_default=sa.false(), nullable=False))

    op.execute(
        "INSERT INTO report_cases (target_kind, target_id, standing, hiding, urgent_since, updated_at) "
        "SELECT target_kind, target_id, 0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM reports "
        "WHERE status = 'open' AND target_kind <> 'user' GROUP BY target_kind, target_id "
        "HAVING COUNT(DISTINCT reporter_id) >= 5"
    )


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('counted')

    with op.batch_alter_table('report_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_cases_urgent_since'))

    op.drop_table('report_cases')
