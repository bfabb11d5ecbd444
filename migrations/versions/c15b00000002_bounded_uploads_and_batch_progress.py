"""bounded uploads and batch progress

Revision ID: c15b00000002
Revises: c15a00000001
Create Date: 2026-12-03 13:00:00.000000

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "c15b00000002"
down_revision = "c15a00000001"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
