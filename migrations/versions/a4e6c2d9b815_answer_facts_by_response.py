"""ix_answers_facts ordered by response within company and audience: one answer's rows share a page

The covering index of the company figures was ordered (company, audience, question, stage,
number, response). A submitted survey's ten answers went to ten questions' parts of that index:
ten scattered leaf pages written per answer, more than half of all the pages a submission wrote
(SQLite's write-ahead log: 23.4 pages per answer, 13 of them this index). Ordered (company,
audience, response, question, number, stage) instead, they land side by side at the end of the
company's part: 13.6 pages per answer in all, measured on the benchmark's data.

The index still covers every figure (company, audience, stage, question, number, response), and
an anonymity snapshot (response up to a cutoff) is now a range of it. Figures that pick one
question read the company's whole part instead of that question's, about twice the time for the
comments and choice counts of one snapshot, which is worked out once per snapshot and process.

Revision ID: a4e6c2d9b815
Revises: f3c9d1e8b7a4
Create Date: 2026-11-26 20:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a4e6c2d9b815'
down_revision = 'f3c9d1e8b7a4'
branch_labels = None
depends_on = None

BY_QUESTION = ['company_id', 'audience', 'question_id', 'stage', 'number', 'response_id']
BY_RESPONSE = ['company_id', 'audience', 'response_id', 'question_id', 'number', 'stage']


def upgrade():
    op.drop_index('ix_answers_facts', table_name='answers')
    op.create_index('ix_answers_facts', 'answers', BY_RESPONSE, unique=False)


def downgrade():
    op.drop_index('ix_answers_facts', table_name='answers')
    op.create_index('ix_answers_facts', 'answers', BY_QUESTION, unique=False)
