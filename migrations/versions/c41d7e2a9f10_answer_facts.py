"""per-company aggregates without joins: answer facts, request company, answer tallies

The company report and dashboard aggregate one company's answers and requests. Answers carry
their response's company, audience and stage (covering index ix_answers_facts), requests their
application's company (covering index ix_feedback_requests_company_counts), and answer_tallies
holds how often each value was given per company, audience, stage and question.

Revision ID: c41d7e2a9f10
Revises: 9637a755e900
Create Date: 2026-11-26 13:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c41d7e2a9f10'
down_revision = '9637a755e900'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('company_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('audience', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('stage', sa.String(length=20), nullable=True))
    # Existing answers take their response's values (one pass over the table).
    op.execute(
        "UPDATE answers SET (company_id, audience, stage) = (SELECT responses.company_id, responses.audience, "
        "responses.stage FROM responses WHERE responses.id = answers.response_id)"
    )
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.alter_column('company_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('audience', existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column('stage', existing_type=sa.String(length=20), nullable=False)
        batch_op.create_index('ix_answers_facts',
                              ['company_id', 'audience', 'question_id', 'stage', 'number', 'response_id'],
                              unique=False)


    with op.batch_alter_table('feedback_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('company_id', sa.Integer(), nullable=True))
    op.execute(
        "UPDATE feedback_requests SET company_id = (SELECT applications.company_id FROM applications "
        "WHERE applications.id = feedback_requests.application_id)"
    )
    with op.batch_alter_table('feedback_requests', schema=None) as batch_op:
        batch_op.alter_column('company_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_feedback_requests_company_id_companies'), 'companies',
                                    ['company_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_feedback_requests_company_counts',
                              ['company_id', 'audience', 'first_sent_at', 'answered_at'], unique=False)

    op.create_table('answer_tallies',
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.String(length=60), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_answer_tallies_company_id_companies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_answer_tallies_question_id_questions')),
    sa.PrimaryKeyConstraint('company_id', 'audience', 'stage', 'question_id', 'value', name=op.f('pk_answer_tallies'))
    )
    # The answers stored so far: numbers by their value, choices by their code, no free text.
    op.execute(
        "INSERT INTO answer_tallies (company_id, audience, stage, question_id, value, count) "
        "SELECT a.company_id, a.audience, a.stage, a.question_id, "
        "CASE WHEN a.number IS NOT NULL THEN CAST(a.number AS VARCHAR(60)) ELSE a.text END, count(*) "
        "FROM answers a JOIN questions q ON q.id = a.question_id "
        "WHERE a.number IS NOT NULL OR q.kind = 'choices' "
        "GROUP BY a.company_id, a.audience, a.stage, a.question_id, "
        "CASE WHEN a.number IS NOT NULL THEN CAST(a.number AS VARCHAR(60)) ELSE a.text END"
    )


def downgrade():
    op.drop_table('answer_tallies')
    with op.batch_alter_table('feedback_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_requests_company_counts')
        batch_op.drop_constraint(batch_op.f('fk_feedback_requests_company_id_companies'), type_='foreignkey')
        batch_op.drop_column('company_id')
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_index('ix_answers_facts')
        batch_op.drop_column('stage')
        batch_op.drop_column('audience')
        batch_op.drop_column('company_id')
