"""request_tallies: a company's requests mailed and answered, kept by triggers

The report and the dashboard showed, per audience, how many of a company's requests were mailed
(first_sent_at) and answered (answered_at) by counting them: an index scan that grew with the
company's requests. request_tallies holds the two numbers per company and audience. Triggers on
feedback_requests keep it exact whoever writes: the sender's marks, the claim of an answer,
imports and bulk loads (COPY included, unless triggers are switched off as pg_restore does:
services.responses.rebuild_request_tallies recounts them), deletions and cascades. The covering
index those counts used is dropped with them (each answer and each first send wrote it); a plain
index on company_id stays for the foreign key's cascade.

PostgreSQL: statement-level triggers over the transition tables, one upsert per statement with
its rows in key order (concurrent statements never lock two tallies in opposite orders).
SQLite: row-level triggers (the database has one writer at a time). A later migration that
rebuilds feedback_requests on SQLite (batch mode copies the table) must create them again.

Revision ID: e5b8c3f1a7d2
Revises: d7a3b9e1c254
Create Date: 2026-11-26 16:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5b8c3f1a7d2'
down_revision = 'd7a3b9e1c254'
branch_labels = None
depends_on = None

POSTGRES_FUNCTION = """
CREATE FUNCTION request_tallies_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        -- No insert: a cascade from a deleted company has already taken its tallies.
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
"""
POSTGRES_TRIGGERS = [
    "CREATE TRIGGER request_tallies_insert AFTER INSERT ON feedback_requests REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION request_tallies_apply()",
    "CREATE TRIGGER request_tallies_update AFTER UPDATE ON feedback_requests "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION request_tallies_apply()",
    "CREATE TRIGGER request_tallies_delete AFTER DELETE ON feedback_requests REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION request_tallies_apply()",
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
SQLITE_TRIGGERS = [
    "CREATE TRIGGER request_tallies_insert AFTER INSERT ON feedback_requests "
    "WHEN NEW.first_sent_at IS NOT NULL OR NEW.answered_at IS NOT NULL BEGIN" + _ADD_NEW + "\nEND",
    "CREATE TRIGGER request_tallies_update AFTER UPDATE OF company_id, audience, first_sent_at, answered_at "
    "ON feedback_requests WHEN (OLD.first_sent_at IS NULL) <> (NEW.first_sent_at IS NULL) "
    "OR (OLD.answered_at IS NULL) <> (NEW.answered_at IS NULL) "
    "OR OLD.company_id <> NEW.company_id OR OLD.audience <> NEW.audience BEGIN" + _TAKE_OLD + _ADD_NEW + "\nEND",
    "CREATE TRIGGER request_tallies_delete AFTER DELETE ON feedback_requests "
    "WHEN OLD.first_sent_at IS NOT NULL OR OLD.answered_at IS NOT NULL BEGIN" + _TAKE_OLD + "\nEND",
]
TRIGGERS = ("request_tallies_insert", "request_tallies_update", "request_tallies_delete")


def upgrade():
    op.drop_index('ix_feedback_requests_company_counts', table_name='feedback_requests')
    op.create_index(op.f('ix_feedback_requests_company_id'), 'feedback_requests', ['company_id'], unique=False)
    op.create_table('request_tallies',
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('completed', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_request_tallies_company_id_companies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('company_id', 'audience', name=op.f('pk_request_tallies'))
    )
    # The requests so far, then the triggers (nothing else writes during a migration).
    op.execute(
        "INSERT INTO request_tallies (company_id, audience, sent, completed) "
        "SELECT company_id, audience, count(first_sent_at), count(answered_at) FROM feedback_requests "
        "WHERE first_sent_at IS NOT NULL OR answered_at IS NOT NULL GROUP BY company_id, audience"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        for statement in POSTGRES_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON feedback_requests" if postgres else f"DROP TRIGGER {name}")
    if postgres:
        op.execute("DROP FUNCTION request_tallies_apply()")
    op.drop_table('request_tallies')
    op.drop_index(op.f('ix_feedback_requests_company_id'), table_name='feedback_requests')
    op.create_index('ix_feedback_requests_company_counts', 'feedback_requests',
                    ['company_id', 'audience', 'first_sent_at', 'answered_at'], unique=False)
