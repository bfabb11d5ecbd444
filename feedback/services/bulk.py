"""Bulk writes for imports: ids handed out before the insert, rows sent in one statement per table."""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ..extensions import db


def bulk_insert(table: sa.Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert ``rows`` (values in the order of ``columns``) in the session's transaction; nothing
    is read back. Columns left out get their model defaults.

    On PostgreSQL as COPY on the pooled DBAPI connection (psycopg's executemany sends one INSERT
    per row); elsewhere, and where a default is a SQL expression, as Core's executemany.
    """
    if not rows:
        return
    connection = db.session.connection()
    defaults = _python_defaults(table, columns) if connection.dialect.name == "postgresql" else None
    if defaults is None:
        connection.execute(sa.insert(table), [dict(zip(columns, row)) for row in rows])
        return
    names, extra = columns + tuple(defaults), tuple(defaults.values())
    preparer = connection.dialect.identifier_preparer
    target = f"{preparer.format_table(table)} ({', '.join(preparer.quote(name) for name in names)})"
    try:
        with connection.connection.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row + extra)
    except connection.dialect.loaded_dbapi.IntegrityError as exc:  # as Core raises it (a racing insert)
        raise sa.exc.IntegrityError(f"COPY {target}", None, exc) from exc


def _python_defaults(table: sa.Table, given: tuple[str, ...]) -> dict | None:
    """The model defaults of the columns not ``given`` (None when one is a SQL expression)."""
    defaults = {}
    for column in table.columns:
        default = column.default
        if column.name in given or default is None:
            continue
        if not (default.is_scalar or default.is_callable):
            return None
        defaults[column.name] = default.arg(None) if default.is_callable else default.arg
    return defaults


def any_of(column: sa.ColumnElement, values: Iterable) -> sa.ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(array)``: one parameter instead of one per
    value (building and parsing a statement of 1,000 parameters cost more than running it)."""
    values = list(values)
    if db.session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


class IdAllocator:
    """Primary keys for rows about to be inserted, so that no insert has to read its ids back."""

    def __init__(self) -> None:
        self.postgresql = db.session.connection().dialect.name == "postgresql"
        self.next_free: dict[str, int] = {}  # SQLite: table -> its next id
        self.sequences: dict[str, str] = {}  # PostgreSQL: table -> its id sequence

    def take(self, table: sa.Table, count: int) -> list[int]:
        """``count`` new ids for ``table``, reserved for this transaction."""
        if not count:
            return []
        if self.postgresql:
            if table.name not in self.sequences:
                self.sequences[table.name] = db.session.scalar(
                    sa.select(sa.func.pg_get_serial_sequence(table.name, "id"))
                )
            sequence = sa.cast(self.sequences[table.name], postgresql.REGCLASS)
            return db.session.scalar(
                sa.select(sa.func.array_agg(sa.func.nextval(sequence))).select_from(sa.func.generate_series(1, count))
            )
        # SQLite gives a new row max(id) + 1 itself. The import's first write (the batch row) took
        # the database's write lock, so nobody else inserts before the commit.
        if table.name not in self.next_free:
            self.next_free[table.name] = (db.session.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1
        start = self.next_free[table.name]
        self.next_free[table.name] = start + count
        return list(range(start, start + count))
