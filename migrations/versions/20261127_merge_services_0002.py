"""merge the housing, events and counselling branches

Revision ID: 0002
Revises: housing01, events01, counsel01
Create Date: 2026-11-27
"""

from collections.abc import Sequence

revision: str = "0002"
down_revision: str | Sequence[str] | None = ("housing01", "events01", "counsel01")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
