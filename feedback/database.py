"""Engine settings that depend on the database: SQLite gets WAL and a busy timeout."""
from __future__ import annotations

import sqlalchemy as sa


def configure_engine_events(engine: sa.Engine) -> None:
    """Make SQLite safe for several workers: WAL, a busy timeout, foreign keys on."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if not _is_memory(engine):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def _is_memory(engine: sa.Engine) -> bool:
    database = engine.url.database
    return not database or database == ":memory:"
