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

PostgreSQL: statement-level triggers (one upsert per statement, truncation included). SQLite:
row-level triggers. A later migration that rebuilds answers on SQLite (batch mode copies the
table) must create them again.

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

# An upsert: the row may be missing (a fresh or emptied database).
_BUMP = ("INSERT INTO answer_changes (id, changes) VALUES (1, 1) "
         "ON CONFLICT (id) DO UPDATE SET changes = answer_changes.changes + 1")
POSTGRES_FUNCTION = f"""
CREATE FUNCTION answer_changes_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_BUMP};
    RETURN NULL;
END
$$
"""
POSTGRES_TRIGGERS = [
    "CREATE TRIGGER answer_changes_delete AFTER DELETE ON answers "
    "FOR EACH STATEMENT EXECUTE FUNCTION answer_changes_bump()",
    "CREATE TRIGGER answer_changes_update AFTER UPDATE OF text ON answers "
    "FOR EACH STATEMENT EXECUTE FUNCTION answer_changes_bump()",
    "CREATE TRIGGER answer_changes_truncate AFTER TRUNCATE ON answers "
    "FOR EACH STATEMENT EXECUTE FUNCTION answer_changes_bump()",
]
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER answer_changes_delete AFTER DELETE ON answers BEGIN {_BUMP}; END",
    f"CREATE TRIGGER answer_changes_update AFTER UPDATE OF text ON answers BEGIN {_BUMP}; END",
]


def upgrade():
    op.create_table('answer_changes',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('changes', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer_changes'))
    )
    op.execute("INSERT INTO answer_changes (id, changes) VALUES (1, 0)")
    op.create_index('ix_positions_company_id_id', 'positions', ['company_id', 'id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
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
