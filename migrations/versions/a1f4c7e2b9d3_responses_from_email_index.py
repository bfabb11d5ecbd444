"""The candidate answers begun from a score in the e-mail, counted on an index of their own.

Revision ID: a1f4c7e2b9d3
Revises: d8f2a6c4e1b9
Create Date: 2026-12-04

A dashboard page counts the company's candidate responses that began from the e-mail's scores
(responses.started_from_email). That count read every one of the company's responses row by row;
a partial index of those responses alone makes it a count of index entries (the flag is in the index too, so that SQLite reads no row).
"""
import sqlalchemy as sa
from alembic import op

revision = 'a1f4c7e2b9d3'
down_revision = 'd8f2a6c4e1b9'
branch_labels = None
depends_on = None

# As each dialect writes the condition (SQLite has no boolean type: SQLAlchemy compares with 1).
_SQLITE_WHERE, _POSTGRESQL_WHERE = sa.text("started_from_email = 1"), sa.text("started_from_email")


def upgrade():
    op.create_index('ix_responses_from_email', 'responses', ['company_id', 'audience', 'started_from_email'],
                    sqlite_where=_SQLITE_WHERE, postgresql_where=_POSTGRESQL_WHERE)


def downgrade():
    op.drop_index('ix_responses_from_email', table_name='responses')
