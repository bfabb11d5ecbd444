"""answer_changes: how often stored answers were deleted or edited, kept by triggers; positions by company and id

The dashboard shows a random sample of a snapshot's comments on every visit. It kept their ids
and counted them again on each page (one more statement, and the texts read by id) so that an
erasure showed at once. Within a snapshot comments are only ever taken away, never added, so one
number that moves with every deletion or edit of an answer says as much: while it stands, the
snapshot's comments are the ones kept in memory. Triggers on answers keep it whoever deletes: an
erasure, a purge, a cascade from a deleted response or company. New answers do not move it.

The dashboard also reads the newest id of a company's positions on every page (the version of
the positions it keeps for its filter); ix_positions_company_id_id makes that one index step
instead of a backward scan of every newer company's positions.

PostgreSQL: statement-level triggers for DELETE (one upsert per statement that removed rows) and
TRUNCATE, a row-level one for an edited text. SQLite: row-level triggers. The row is never to be
deleted by hand; were it missing, the next change makes it anew from the clock. A later migration
that rebuilds answers on SQLite (batch mode copies the table) must create the triggers again.

Revision ID: f3c9d1e8b7a4
Revises: e5b8c3f1a7d2
Create Date: 2026-11-26 18:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3c9d1e8b7a4'
down_revision = 'e5b8c3f1a7d2'
branch_labels = None
depends_on = None

# An upsert: the row may be missing (an emptied table). A row made anew starts from the clock (in
# microseconds), not from 1, so the number never comes back to a value a process may have kept.
_NOW_US = {
    "postgresql": "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint",
    "sqlite": "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)",
}


def _bump(dialect: str) -> str:
    return (f"INSERT INTO answer_changes (id, changes) VALUES (1, {_NOW_US[dialect]}) "
            "ON CONFLICT (id) DO UPDATE SET changes = answer_changes.changes + 1")


POSTGRES_FUNCTION = f"""
CREATE FUNCTION answer_changes_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        -- A DELETE that removed no row changes nothing (old_rows exists for DELETE only).
        IF NOT EXISTS (SELECT 1 FROM old_rows) THEN
            RETURN NULL;
        END IF;
    END IF;
    {_bump("postgresql")};
    RETURN NULL;
END
$$
"""
POSTGRES_TRIGGERS = [
    "CREATE TRIGGER answer_changes_delete AFTER DELETE ON answers REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION answer_changes_bump()",
    # Row-level (a column list takes no transition table): texts are edited one at a time, if ever.
    "CREATE TRIGGER answer_changes_update AFTER UPDATE OF text ON answers "
    "FOR EACH ROW WHEN (OLD.text IS DISTINCT FROM NEW.text) EXECUTE FUNCTION answer_changes_bump()",
    "CREATE TRIGGER answer_changes_truncate AFTER TRUNCATE ON answers "
    "FOR EACH STATEMENT EXECUTE FUNCTION answer_changes_bump()",
]
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER answer_changes_delete AFTER DELETE ON answers BEGIN {_bump('sqlite')}; END",
    f"CREATE TRIGGER answer_changes_update AFTER UPDATE OF text ON answers "
    f"WHEN OLD.text IS NOT NEW.text BEGIN {_bump('sqlite')}; END",
]


def upgrade():
    op.create_table('answer_changes',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('changes', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer_changes'))
    )
    dialect = op.get_bind().dialect.name
    op.execute(f"INSERT INTO answer_changes (id, changes) VALUES (1, {_NOW_US[dialect]})")
    op.create_index('ix_positions_company_id_id', 'positions', ['company_id', 'id'], unique=False)
    if dialect == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        for statement in POSTGRES_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_TRIGGERS:
            op.execute(f"DROP TRIGGER {statement.split()[2]} ON answers")
        op.execute("DROP FUNCTION answer_changes_bump()")
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {statement.split()[2]}")
    op.drop_index('ix_positions_company_id_id', table_name='positions')
    op.drop_table('answer_changes')
