"""privacy round two (suppressions, erasure, per-tenant names)

Revision ID: c15a00000001
Revises: b7d4e9f2c613
Create Date: 2026-12-03 13:00:00.000000

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "c15a00000001"
down_revision = "b7d4e9f2c613"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
