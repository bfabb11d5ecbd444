"""Time in one place: aware UTC everywhere, so tests can move the clock."""
from __future__ import annotations

from datetime import UTC, date, datetime


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date in UTC."""
    return utcnow().date()


def as_utc(moment: datetime | None) -> datetime | None:
    """Databases may hand back naive datetimes (SQLite); read them as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
