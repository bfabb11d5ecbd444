"""Marking delivered outbox rows sent: Core statements by primary key, one commit per e-mail."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..extensions import db
from ..mail import OutgoingItem
from ..models import FeedbackRequest, OutboxMessage
from ..models.base import UTCDateTime

_OUTBOX = OutboxMessage.__table__
_REQUESTS = FeedbackRequest.__table__
# Core statements by primary key, built once: no ORM work per e-mail.
_NOW = sa.bindparam("now", type_=UTCDateTime())
_MARK_SENT = (
    sa.update(_OUTBOX).where(_OUTBOX.c.id.in_(sa.bindparam("outbox_ids", expanding=True)))
    .values(status="sent", sent_at=_NOW, attempts=_OUTBOX.c.attempts + 1, last_error=None, claimed_until=None)
)
_FIRST_SENT_VALUES = {"first_sent_at": sa.func.coalesce(_REQUESTS.c.first_sent_at, _NOW)}
_MARK_FIRST_SENT = (
    sa.update(_REQUESTS).where(_REQUESTS.c.id == sa.bindparam("feedback_request_id"))
    .values(**_FIRST_SENT_VALUES,
            link_issued_at=sa.func.coalesce(_REQUESTS.c.link_issued_at, sa.bindparam("issued", type_=UTCDateTime())))
)
# PostgreSQL: the row and its request in one statement (a data-modifying WITH), so that a mark
# needs one round trip in autocommit mode instead of BEGIN, two UPDATEs and COMMIT.
_MARK_SENT_CTE = _MARK_SENT.cte("sent")
_MARK_BOTH = _MARK_FIRST_SENT.add_cte(_MARK_SENT_CTE)


def mark_sent(connection: sa.Connection, items: list[OutgoingItem], now: datetime) -> None:
    """The rows went out: sent, and each request's first send and link issue time recorded (not committed)."""
    connection.execute(_MARK_SENT, {"outbox_ids": [item.outbox_id for item in items], "now": now})
    requests = [{"feedback_request_id": item.request_id, "now": now, "issued": item.link_issued_at}
                for item in items if item.request_id is not None]
    if requests:
        connection.execute(_MARK_FIRST_SENT, requests)


def _mark_sent_statement(items: list[OutgoingItem], now: datetime) -> tuple[sa.Executable, dict]:
    """PostgreSQL: one statement (so one implicit transaction) marking a whole e-mail's rows sent."""
    ids = [item.outbox_id for item in items]
    requests = [item for item in items if item.request_id is not None]
    if not requests:
        return _MARK_SENT, {"outbox_ids": ids, "now": now}
    if len(requests) == 1:
        return _MARK_BOTH, {"outbox_ids": ids, "now": now, "feedback_request_id": requests[0].request_id,
                            "issued": requests[0].link_issued_at}
    issued = sa.values(sa.column("request_id", sa.Integer), sa.column("issued", UTCDateTime()), name="issued").data(
        [(item.request_id, item.link_issued_at) for item in requests])
    statement = (
        sa.update(_REQUESTS).where(_REQUESTS.c.id == issued.c.request_id)
        .values(**_FIRST_SENT_VALUES, link_issued_at=sa.func.coalesce(
            _REQUESTS.c.link_issued_at, sa.cast(issued.c.issued, UTCDateTime())))
        .add_cte(_MARK_SENT_CTE)
    )
    return statement, {"outbox_ids": ids, "now": now}


class SentMarks:
    """Commits each delivered e-mail's rows as sent, on a connection held for the whole batch.

    A mark is deferred (``defer``) and committed (``flush``) while the server answers the next
    e-mail's MAIL FROM: the server cannot accept that e-mail before its final dot, so a sender
    killed at any point leaves at most one accepted e-mail without its mark, as with a commit
    straight after each e-mail.

    Holding one connection spares every message a pool checkout (and its pre-ping). On PostgreSQL
    it runs in autocommit mode, each mark one statement, and its commits do not wait for the WAL
    flush, which would cost a disk sync per message: a killed sender loses no committed mark
    either way; only a crash of PostgreSQL itself in the next fraction of a second could forget
    one, and that message would go once more with the same Message-ID.
    """

    def __init__(self) -> None:
        self.pending: tuple[list[OutgoingItem], datetime] | None = None
        self.connection = db.engine.connect()
        self.postgres = self.connection.dialect.name == "postgresql"
        if self.postgres:
            self.connection = self.connection.execution_options(isolation_level="AUTOCOMMIT")
            self.connection.exec_driver_sql("SET synchronous_commit = off")

    def defer(self, items: list[OutgoingItem], now: datetime) -> None:
        """The server accepted these rows' e-mail: commit their mark before another e-mail can go."""
        self.flush()
        self.pending = (items, now)

    def flush(self) -> None:
        """Commit the deferred mark, if any."""
        if self.pending is None:
            return
        items, now = self.pending
        self.pending = None
        if self.postgres:
            self.connection.execute(*_mark_sent_statement(items, now))
        else:
            mark_sent(self.connection, items, now)
            self.connection.commit()

    def close(self) -> None:
        """Commit what is deferred, and give the connection back."""
        try:
            self.flush()
        finally:
            self._release()

    def _release(self) -> None:
        try:
            self.connection.rollback()
            if self.postgres:
                self.connection.exec_driver_sql("RESET synchronous_commit")  # the pool's next user gets the default
        except sa.exc.SQLAlchemyError:
            self.connection.invalidate()
        finally:
            self.connection.close()
