"""Dashboard filters (period, position, stage) as SQL conditions on responses and answers.

The conditions take their values as bound parameters named after the filter's fields, so that
a statement is built once per *shape* (which fields are set) and run with any filter's
``params()``; SQLAlchemy then also finds its compiled form in its cache.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import sqlalchemy as sa

from ..models import STAGES, Answer, Response
from ..query_args import choice_arg, id_arg, month_range

Shape = frozenset[str]


@dataclass(frozen=True)
class ResponseFilter:
    """Which responses a figure stands on. Empty fields filter nothing."""

    company_id: int
    audience: str = "candidate"
    stage: str | None = None
    position_id: int | None = None
    month_from: str | None = None  # YYYY-MM, inclusive
    month_to: str | None = None  # YYYY-MM, inclusive
    # The anonymity snapshot: only responses up to this id count (see figures.snapshot).
    max_response_id: int | None = None

    @classmethod
    def from_args(cls, company_id: int, args) -> ResponseFilter:
        """Read the filter from query-string arguments; a malformed value is a 400 (query_args)."""
        month_from, month_to = month_range(args)
        return cls(company_id=company_id, stage=choice_arg(args, "stage", STAGES),
                   position_id=id_arg(args, "position"), month_from=month_from, month_to=month_to)

    def with_(self, **changes) -> ResponseFilter:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def as_args(self) -> dict[str, str]:
        """The query-string arguments that reproduce this filter."""
        args = {"stage": self.stage, "position": self.position_id, "from": self.month_from, "to": self.month_to}
        # max_response_id is derived from the data, never taken from a URL.
        return {key: str(value) for key, value in args.items() if value}

    @property
    def is_filtered(self) -> bool:
        return bool(self.stage or self.position_id or self.month_from or self.month_to)

    def params(self) -> dict[str, object]:
        """The values of the bound parameters of this filter's conditions."""
        values = {
            "company_id": self.company_id, "audience": self.audience, "stage": self.stage or None,
            "position_id": self.position_id or None,
            "submitted_from": _month_start(self.month_from) if self.month_from else None,
            "submitted_before": _month_start(_next_month(self.month_to)) if self.month_to else None,
            "max_response_id": self.max_response_id,
        }
        return {name: value for name, value in values.items() if value is not None}

    @property
    def shape(self) -> Shape:
        """The parameters this filter sets: statements are built per shape."""
        return frozenset(self.params())

    def conditions(self) -> list[sa.ColumnElement]:
        """WHERE conditions on Response (run with ``params()``)."""
        return response_conditions(self.shape)


_RESPONSE_COLUMNS = {"company_id": Response.company_id, "audience": Response.audience, "stage": Response.stage,
                     "position_id": Response.position_id}
_ANSWER_COLUMNS = {"company_id": Answer.company_id, "audience": Answer.audience, "stage": Answer.stage}


def _param(name: str, column: sa.ColumnElement) -> sa.BindParameter:
    return sa.bindparam(name, type_=column.type)


def response_conditions(shape: Shape) -> list[sa.ColumnElement]:
    """WHERE conditions on Response for a filter of this shape."""
    conditions = [column == _param(name, column) for name, column in _RESPONSE_COLUMNS.items() if name in shape]
    if "submitted_from" in shape:
        conditions.append(Response.submitted_at >= _param("submitted_from", Response.submitted_at))
    if "submitted_before" in shape:
        conditions.append(Response.submitted_at < _param("submitted_before", Response.submitted_at))
    if "max_response_id" in shape:
        conditions.append(Response.id <= _param("max_response_id", Response.id))
    return conditions


def needs_responses(shape: Shape) -> bool:
    """Whether the filter needs the responses table (position, months), not only the answers' copies."""
    return bool(shape & {"position_id", "submitted_from", "submitted_before"})


def answers_under(shape: Shape, select: sa.Select, join: bool = False) -> sa.Select:
    """``select`` (over answers) limited to the filter's responses, joining responses only if needed
    (or if ``join``: to group by their columns)."""
    if join or needs_responses(shape):
        return select.join(Response, Response.id == Answer.response_id).where(*response_conditions(shape))
    conditions = [column == _param(name, column) for name, column in _ANSWER_COLUMNS.items() if name in shape]
    if "max_response_id" in shape:
        conditions.append(Answer.response_id <= _param("max_response_id", Answer.response_id))
    return select.where(*conditions)


def _month_start(month: str) -> datetime:
    year, number = (int(part) for part in month.split("-"))
    return datetime(year, number, 1, tzinfo=UTC)


def _next_month(month: str) -> str:
    year, number = (int(part) for part in month.split("-"))
    return f"{year + number // 12}-{number % 12 + 1:02d}"


def month_of(column, dialect_name: str):
    """SQL for 'YYYY-MM' of a timestamp column, on SQLite and PostgreSQL."""
    if dialect_name == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)
