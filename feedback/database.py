"""Engine settings: SQLite gets WAL and a busy timeout; pooled connections are pinged after idling."""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

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
    def _sqlite_pragmas(dbapi_connection, _record) -> None:
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
    def _new(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise sa.exc.DisconnectionError(f"idle connection failed its ping: {error}") from error


# Pages that only read, by endpoint and method: they run without a transaction (read_only_pages).
READ_ONLY_PAGES = {"dashboard.company": ("GET", "HEAD")}


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


def read_connection() -> sa.Connection:
    """A connection for this request's hot reads (the signed-in user, the dashboard's facts),
    without the ORM session: its bookkeeping costs more than these one-row statements. Opened on
    first use, closed when the app context ends (close_read_connection). On PostgreSQL it reads
    in autocommit mode (no BEGIN and ROLLBACK); SQLite's driver opens no transaction to read. It
    never writes: writes go through the session, or a page's own connection (the feedback link).
    """
    from flask import g

    from .extensions import db

    connection = g.get("feedback_read_connection")
    if connection is None:
        connection = db.engine.connect()
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        g.feedback_read_connection = connection
    return connection


def close_read_connection(_error: BaseException | None = None) -> None:
    """End of the app context: return read_connection()'s connection to the pool."""
    from flask import g

    connection = g.pop("feedback_read_connection", None)
    if connection is not None:
        connection.close()


class DriverStatement:
    """A Core statement compiled once for a dialect and run on the driver's own cursor.

    The feedback link's page runs the same few statements thousands of times an hour, and
    SQLAlchemy's execution path (an execution context, a result object, events) costs more than
    SQLite takes to run them: measured, a seventh of all the instructions of an answer's POST.
    This runs the statement's compiled text on the driver connection under a Connection, so in
    its transaction, which the caller commits as usual, with what Core would add: parameters in
    the compiled order, converted by their types (dates on SQLite…), the statement's literal
    values, result values converted by the selected columns' types (UTC datetimes…), and driver
    errors raised as SQLAlchemy's (an IntegrityError is still an ``sqlalchemy.exc.IntegrityError``).
    Cursor event listeners are called without an execution context; echo logging is skipped.
    Plain parameters only (no expanding IN lists).
    """

    def __init__(self, statement: sa.Executable, dialect: sa.Dialect, column_keys: Sequence[str] | None = None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(column_keys) if column_keys else None)
        if compiled.escaped_bind_names or any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("DriverStatement takes only plain parameters")
        self.sql = compiled.string
        self._dialect = dialect
        # The driver takes parameters by position (SQLite's qmark) or by name (psycopg's pyformat).
        names = compiled.positiontup
        self.order: tuple[str, ...] | None = tuple(names) if names is not None else None
        self._parameters = tuple(
            (name, bind.required, None if bind.required else bind.effective_value,
             bind.type.dialect_impl(dialect).bind_processor(dialect))
            for name, bind in compiled.binds.items()
        )
        columns = statement.selected_columns if isinstance(statement, sa.Select) else ()
        self._results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)

    def parameters(self, values: Mapping[str, Any]) -> tuple | dict:
        """The driver's parameters for ``values`` (by name), converted as Core converts them."""
        converted = {}
        for name, required, literal, processor in self._parameters:
            value = values[name] if required else values.get(name, literal)
            converted[name] = value if processor is None else processor(value)
        if self.order is None:
            return converted
        return tuple(converted[name] for name in self.order)

    def execute(self, connection: sa.Connection, values: Mapping[str, Any]):
        """Run once in ``connection``'s transaction: the driver's cursor (rows as the driver gives them)."""
        return self._run(connection, "execute", self.parameters(values))

    def first(self, connection: sa.Connection, values: Mapping[str, Any]) -> tuple | None:
        """The first result row, its values converted as Core would return them, or None."""
        cursor = self.execute(connection, values)
        row = cursor.fetchone()
        cursor.close()  # the statement ends here (on SQLite, its read snapshot too)
        if row is None:
            return None
        return tuple(value if processor is None else processor(value) for processor, value in zip(self._results, row))

    def executemany(self, connection: sa.Connection, rows: Sequence[tuple]) -> None:
        """Run once per row; each row holds the parameters in ``order`` as plain tuples, which
        need no conversion (integers and text): the cheapest executemany the driver offers."""
        if self.order is None or any(processor is not None for name, _r, _l, processor in self._parameters
                                     if name in self.order):
            raise ValueError("executemany of plain tuples needs positional parameters without conversion")
        self._run(connection, "executemany", list(rows))

    def _run(self, connection: sa.Connection, method: str, parameters: Any):
        # Begin the Connection's transaction as Core's execute does (autobegin), so that its commit
        # reaches the driver; the driver opens its own with the first statement, as under Core.
        if not connection.in_transaction():
            connection.begin()
        cursor = connection.connection.driver_connection.cursor()
        many = method == "executemany"
        # Cursor listeners (statement counts in tests, tracing) still see the statement, without
        # an execution context; a listener's return value is not used.
        before, after = connection.dispatch.before_cursor_execute, connection.dispatch.after_cursor_execute
        if before:
            before(connection, cursor, self.sql, parameters, None, many)
        dbapi = self._dialect.loaded_dbapi
        try:
            getattr(cursor, method)(self.sql, parameters)
        except dbapi.Error as error:
            # Parameters hidden from the message: they hold answers' free text.
            raise sa.exc.DBAPIError.instance(self.sql, parameters, error, dbapi.Error, hide_parameters=True,
                                             dialect=self._dialect) from error
        if after:
            after(connection, cursor, self.sql, parameters, None, many)
        return cursor
