"""applications.candidate_name: each company's own name for its candidate

A candidate is one row per address across every tenant, and the first stored name won: a company
that imported another tenant's candidate's address was mailed the name that tenant had stored.
The name now lives on the application, as its company gave it, and is what that company's mails
and pages show. Existing applications take their candidate's name (what they showed until now).

Revision ID: d4b7a9c1e582
Revises: c8e2f4a6b913
Create Date: 2026-12-03 18:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd4b7a9c1e582'
down_revision = 'c8e2f4a6b913'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('applications') as batch_op:
        batch_op.add_column(sa.Column('candidate_name', sa.String(length=200), nullable=True))
    op.execute("UPDATE applications SET candidate_name = "
               "(SELECT candidates.name FROM candidates WHERE candidates.id = applications.candidate_id)")


def downgrade():
    with op.batch_alter_table('applications') as batch_op:
        batch_op.drop_column('candidate_name')
