"""drop ix_answers_question_id: every answer query reaches answers by company or by response

Each stored answer wrote a leaf of this index at its question's end of the table, ten scattered
pages per submitted survey. No query reads answers by question alone: the company figures go
through ix_answers_facts (company, audience, question, ...), a response's answers through
ix_answers_response_question, and questions are never deleted (surveys are versioned), so the
foreign key needs no index of its own.

Revision ID: d7a3b9e1c254
Revises: c41d7e2a9f10
Create Date: 2026-11-26 16:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd7a3b9e1c254'
down_revision = 'c41d7e2a9f10'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_answers_question_id', table_name='answers')


def downgrade():
    op.create_index('ix_answers_question_id', 'answers', ['question_id'], unique=False)
