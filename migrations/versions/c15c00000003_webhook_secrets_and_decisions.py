"""webhook secret per company, sign-in audit, advice decisions

Revision ID: c15c00000003
Revises: c15b00000002
Create Date: 2026-12-03 13:00:00.000000

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "c15c00000003"
down_revision = "c15b00000002"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
