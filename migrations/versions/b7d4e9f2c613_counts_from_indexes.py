"""request_tallies and answer_changes dropped with their triggers: counts read from indexes instead

The app keeps every counter in application code now (answer_tallies, in the transaction that
stores an answer); the two tables kept by database triggers go:

- request_tallies (e5b8c3f1a7d2): a company's requests mailed and answered per audience are
  counted on ix_feedback_requests_company_counts (company, audience, first_sent_at, answered_at),
  which covers the count; it replaces the plain index on company_id (the cascade's).
- answer_changes (f3c9d1e8b7a4) versioned the comments a dashboard process kept in memory. A
  page now counts and samples its snapshot's comments itself, on ix_answers_texts: a partial
  index of the answers that are texts (comments and choices), by company, audience, question,
  stage and response.
- ix_responses_company_audience_id: an anonymity snapshot's cutoff (the id of its last counted
  response) is a step along the company's responses in id order, not a sort.

The downgrade puts back both tables, filled from the data, and their triggers.

Revision ID: b7d4e9f2c613
Revises: a4e6c2d9b815
Create Date: 2026-12-03 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d4e9f2c613'
down_revision = 'a4e6c2d9b815'
branch_labels = None
depends_on = None

TEXTS_ONLY = "text IS NOT NULL AND number IS NULL"
REQUEST_TRIGGERS = ("request_tallies_insert", "request_tallies_update", "request_tallies_delete")
ANSWER_TRIGGERS = {"postgresql": ("answer_changes_delete", "answer_changes_update", "answer_changes_truncate"),
                   "sqlite": ("answer_changes_delete", "answer_changes_update")}


def upgrade():
    dialect = op.get_bind().dialect.name
    for table, triggers in (("feedback_requests", REQUEST_TRIGGERS), ("answers", ANSWER_TRIGGERS[dialect])):
        for name in triggers:
            op.execute(f"DROP TRIGGER {name} ON {table}" if dialect == "postgresql" else f"DROP TRIGGER {name}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION request_tallies_apply()")
        op.execute("DROP FUNCTION answer_changes_bump()")
    op.drop_table('request_tallies')
    op.drop_table('answer_changes')
    op.drop_index('ix_feedback_requests_company_id', table_name='feedback_requests')
    op.create_index('ix_feedback_requests_company_counts', 'feedback_requests',
                    ['company_id', 'audience', 'first_sent_at', 'answered_at'], unique=False)
    op.create_index('ix_responses_company_audience_id', 'responses', ['company_id', 'audience', 'id'], unique=False)
    op.create_index('ix_answers_texts', 'answers', ['company_id', 'audience', 'question_id', 'stage', 'response_id'],
                    unique=False, sqlite_where=sa.text(TEXTS_ONLY), postgresql_where=sa.text(TEXTS_ONLY))


def downgrade():
    dialect = op.get_bind().dialect.name
    op.drop_index('ix_answers_texts', table_name='answers')
    op.drop_index('ix_responses_company_audience_id', table_name='responses')
    op.drop_index('ix_feedback_requests_company_counts', table_name='feedback_requests')
    op.create_index('ix_feedback_requests_company_id', 'feedback_requests', ['company_id'], unique=False)
    op.create_table('request_tallies',
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('completed', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_request_tallies_company_id_companies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('company_id', 'audience', name=op.f('pk_request_tallies'))
    )
    op.execute(
        "INSERT INTO request_tallies (company_id, audience, sent, completed) "
        "SELECT company_id, audience, count(first_sent_at), count(answered_at) FROM feedback_requests "
        "WHERE first_sent_at IS NOT NULL OR answered_at IS NOT NULL GROUP BY company_id, audience"
    )
    op.create_table('answer_changes',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('changes', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer_changes'))
    )
    op.execute(f"INSERT INTO answer_changes (id, changes) VALUES (1, {_NOW_US[dialect]})")
    for statement in (POSTGRES if dialect == "postgresql" else SQLITE):
        op.execute(statement)


# --- what the downgrade puts back: the triggers of e5b8c3f1a7d2 and f3c9d1e8b7a4, as they were ----

_NOW_US = {
    "postgresql": "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint",
    "sqlite": "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)",
}


def _bump(dialect: str) -> str:
    return (f"INSERT INTO answer_changes (id, changes) VALUES (1, {_NOW_US[dialect]}) "
            "ON CONFLICT (id) DO UPDATE SET changes = answer_changes.changes + 1")


POSTGRES = [
    """
CREATE FUNCTION request_tallies_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE request_tallies AS t SET sent = t.sent - d.sent, completed = t.completed - d.completed
        FROM (SELECT company_id, audience, count(first_sent_at) AS sent, count(answered_at) AS completed
              FROM old_rows GROUP BY company_id, audience) AS d
        WHERE t.company_id = d.company_id AND t.audience = d.audience;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO request_tallies AS t (company_id, audience, sent, completed)
        SELECT company_id, audience, count(first_sent_at), count(answered_at) FROM new_rows
        WHERE first_sent_at IS NOT NULL OR answered_at IS NOT NULL
        GROUP BY company_id, audience ORDER BY company_id, audience
        ON CONFLICT (company_id, audience)
        DO UPDATE SET sent = t.sent + excluded.sent, completed = t.completed + excluded.completed;
    ELSE
        INSERT INTO request_tallies AS t (company_id, audience, sent, completed)
        SELECT company_id, audience, sum(sent), sum(completed) FROM (
            SELECT company_id, audience, (first_sent_at IS NOT NULL)::int AS sent,
                   (answered_at IS NOT NULL)::int AS completed FROM new_rows
            UNION ALL
            SELECT company_id, audience, -(first_sent_at IS NOT NULL)::int, -(answered_at IS NOT NULL)::int
            FROM old_rows
        ) AS d
        GROUP BY company_id, audience HAVING sum(sent) <> 0 OR sum(completed) <> 0
        ORDER BY company_id, audience
        ON CONFLICT (company_id, audience)
        DO UPDATE SET sent = t.sent + excluded.sent, completed = t.completed + excluded.completed;
    END IF;
    RETURN NULL;
END
$$
""",
    "CREATE TRIGGER request_tallies_insert AFTER INSERT ON feedback_requests REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION request_tallies_apply()",
    "CREATE TRIGGER request_tallies_update AFTER UPDATE ON feedback_requests "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION request_tallies_apply()",
    "CREATE TRIGGER request_tallies_delete AFTER DELETE ON feedback_requests REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION request_tallies_apply()",
    f"""
CREATE FUNCTION answer_changes_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT 1 FROM old_rows) THEN
            RETURN NULL;
        END IF;
    END IF;
    {_bump("postgresql")};
    RETURN NULL;
END
$$
""",
    "CREATE TRIGGER answer_changes_delete AFTER DELETE ON answers REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION answer_changes_bump()",
    "CREATE TRIGGER answer_changes_update AFTER UPDATE OF text ON answers "
    "FOR EACH ROW WHEN (OLD.text IS DISTINCT FROM NEW.text) EXECUTE FUNCTION answer_changes_bump()",
    "CREATE TRIGGER answer_changes_truncate AFTER TRUNCATE ON answers "
    "FOR EACH STATEMENT EXECUTE FUNCTION answer_changes_bump()",
]

_ADD_NEW = """
    INSERT INTO request_tallies (company_id, audience, sent, completed)
    VALUES (NEW.company_id, NEW.audience, NEW.first_sent_at IS NOT NULL, NEW.answered_at IS NOT NULL)
    ON CONFLICT (company_id, audience)
    DO UPDATE SET sent = sent + excluded.sent, completed = completed + excluded.completed;"""
_TAKE_OLD = """
    UPDATE request_tallies SET sent = sent - (OLD.first_sent_at IS NOT NULL),
                               completed = completed - (OLD.answered_at IS NOT NULL)
    WHERE company_id = OLD.company_id AND audience = OLD.audience;"""
SQLITE = [
    "CREATE TRIGGER request_tallies_insert AFTER INSERT ON feedback_requests "
    "WHEN NEW.first_sent_at IS NOT NULL OR NEW.answered_at IS NOT NULL BEGIN" + _ADD_NEW + "\nEND",
    "CREATE TRIGGER request_tallies_update AFTER UPDATE OF company_id, audience, first_sent_at, answered_at "
    "ON feedback_requests WHEN (OLD.first_sent_at IS NULL) <> (NEW.first_sent_at IS NULL) "
    "OR (OLD.answered_at IS NULL) <> (NEW.answered_at IS NULL) "
    "OR OLD.company_id <> NEW.company_id OR OLD.audience <> NEW.audience BEGIN" + _TAKE_OLD + _ADD_NEW + "\nEND",
    "CREATE TRIGGER request_tallies_delete AFTER DELETE ON feedback_requests "
    "WHEN OLD.first_sent_at IS NOT NULL OR OLD.answered_at IS NOT NULL BEGIN" + _TAKE_OLD + "\nEND",
    f"CREATE TRIGGER answer_changes_delete AFTER DELETE ON answers BEGIN {_bump('sqlite')}; END",
    f"CREATE TRIGGER answer_changes_update AFTER UPDATE OF text ON answers "
    f"WHEN OLD.text IS NOT NEW.text BEGIN {_bump('sqlite')}; END",
]
