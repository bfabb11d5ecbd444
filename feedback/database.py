"""Engine settings: SQLite gets WAL and a busy timeout; pooled connections are pinged after idling."""
from __future__ import annotations

import time

import sqlalchemy as sa

# SQLite: pages of write-ahead log between automatic checkpoints (SQLite's default: 1,000).
WAL_AUTOCHECKPOINT_PAGES = 10_000
# A pooled connection unused for longer than this is tested before use (ping_idle_connections).
PING_AFTER_IDLE_SECONDS = 10.0


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
        # Checkpoint every ~40 MB of WAL instead of every 4 MB: an answer writes ~23 pages, and pages
        # written again and again (index tails, tallies) are copied back once per checkpoint.
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        if not _is_memory(engine):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def _is_memory(engine: sa.Engine) -> bool:
    database = engine.url.database
    return not database or database == ":memory:"


def ping_idle_connections(engine: sa.Engine) -> None:
    """Pessimistic disconnect handling for connections that sat idle in the pool.

    SQLAlchemy's ``pool_pre_ping`` tests every checkout with a round trip, which is one per
    request. A connection checked in a moment ago is as alive as the server it just talked to, so
    only one idle for more than PING_AFTER_IDLE_SECONDS (when a database restart or an idle
    timeout may have closed it) is pinged, and a dead one is replaced as pre-ping would. A restart
    in the middle of busy traffic fails the requests that meet a dead connection, and the pool is
    renewed at once (SQLAlchemy's disconnect handling), as it would with pre-ping.
    """

    @sa.event.listens_for(engine, "connect")
    def _new(_dbapi_connection, record) -> None:  # noqa: ANN001
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record) -> None:  # noqa: ANN001
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy) -> None:  # noqa: ANN001
        if time.monotonic() - record.info.get("idle_since", 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # noqa: BLE001 - any failure: the pool tries a new connection
            raise sa.exc.DisconnectionError(f"idle connection failed its ping: {error}") from error


# Pages that only read, by endpoint and method: they run without a transaction (read_only_pages).
READ_ONLY_PAGES = {"dashboard.company": ("GET", "HEAD"), "survey.answer": ("GET", "HEAD")}


def read_only_pages() -> None:
    """Before a read-only page (READ_ONLY_PAGES): its session reads in autocommit mode.

    Such a page writes nothing, so a transaction buys it nothing, and on PostgreSQL costs two
    round trips (BEGIN and the ROLLBACK when the session closes). The ROLLBACK also empties
    psycopg's cache of prepared statements, so that without this no statement of a web request is
    ever prepared: each is planned again on every visit. Statements then see the data as of
    their own start rather than the page's first statement, which the figures tolerate: they
    stand on anonymity snapshots fixed by response id. A write on such a page would commit
    statement by statement, so nothing that writes belongs in READ_ONLY_PAGES.
    """
    from flask import request

    from .extensions import db

    if request.method not in READ_ONLY_PAGES.get(request.endpoint, ()):
        return
    # SQLite's driver opens no transaction for reads anyway, and switching the mode costs it a PRAGMA
    # each way; a session already in a transaction (an app context shared with the caller, as in
    # tests) keeps it.
    if db.engine.dialect.name == "postgresql" and not db.session().in_transaction():
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
