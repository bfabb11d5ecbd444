"""Engine settings: SQLite gets WAL, a busy timeout and foreign keys on each new connection."""
from __future__ import annotations

import sqlalchemy as sa

# SQLite: pages of write-ahead log between automatic checkpoints (SQLite's default: 1,000).
WAL_AUTOCHECKPOINT_PAGES = 10_000


def configure_engine_events(engine: sa.Engine) -> None:
    """Make SQLite safe for several workers (WAL, a busy timeout, foreign keys on) and erasure thorough."""
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA secure_delete=ON")  # an erased person's bytes are zeroed, not left in free pages
        # Checkpoint less often than SQLite's default: pages written again and again (index tails,
        # tallies) are copied back once per checkpoint.
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        if not _is_memory(engine):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def _is_memory(engine: sa.Engine) -> bool:
    database = engine.url.database
    return not database or database == ":memory:"
