"""Dashboard filters (period, position, stage), applied to the responses table in SQL."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from ..models import STAGES, Answer, Response

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class ResponseFilter:
    """Which responses a figure stands on. Empty fields filter nothing."""

    company_id: int
    audience: str = "candidate"
    stage: str | None = None
    position_id: int | None = None
    month_from: str | None = None  # YYYY-MM, inclusive
    month_to: str | None = None  # YYYY-MM, inclusive
    # The anonymity snapshot: only responses up to this id count (see snapshot_filter).
    max_response_id: int | None = None

    @classmethod
    def from_args(cls, company_id: int, args) -> ResponseFilter:
        """Read the filter from query-string arguments, ignoring values that are not valid."""
        stage = args.get("stage") if args.get("stage") in STAGES else None
        position = args.get("position", "")
        month_from = args.get("from") if MONTH.match(args.get("from", "")) else None
        month_to = args.get("to") if MONTH.match(args.get("to", "")) else None
        return cls(company_id=company_id, stage=stage, position_id=int(position) if position.isdigit() else None,
                   month_from=month_from, month_to=month_to)

    def with_(self, **changes) -> ResponseFilter:
        values = {**self.__dict__, **changes}
        return ResponseFilter(**values)

    def as_args(self) -> dict[str, str]:
        """The query-string arguments that reproduce this filter."""
        args = {"stage": self.stage, "position": self.position_id, "from": self.month_from, "to": self.month_to}
        # max_response_id is derived from the data, never taken from a URL.
        return {key: str(value) for key, value in args.items() if value}

    @property
    def is_filtered(self) -> bool:
        return bool(self.stage or self.position_id or self.month_from or self.month_to)

    def conditions(self) -> list[sa.ColumnElement]:
        """WHERE conditions on Response."""
        conditions = [Response.company_id == self.company_id, Response.audience == self.audience]
        if self.stage:
            conditions.append(Response.stage == self.stage)
        if self.position_id:
            conditions.append(Response.position_id == self.position_id)
        if self.month_from:
            conditions.append(Response.submitted_at >= _month_start(self.month_from))
        if self.month_to:
            conditions.append(Response.submitted_at < _month_start(_next_month(self.month_to)))
        if self.max_response_id is not None:
            conditions.append(Response.id <= self.max_response_id)
        return conditions


    def answer_conditions(self) -> list[sa.ColumnElement] | None:
        """WHERE conditions on Answer alone (its copies of the response's columns), or None when the
        filter needs the responses table (position, months)."""
        if self.position_id or self.month_from or self.month_to:
            return None
        conditions = [Answer.company_id == self.company_id, Answer.audience == self.audience]
        if self.stage:
            conditions.append(Answer.stage == self.stage)
        if self.max_response_id is not None:
            conditions.append(Answer.response_id <= self.max_response_id)
        return conditions

    def answers(self, select: sa.Select) -> sa.Select:
        """``select`` (over answers) limited to this filter's responses, joining responses only if needed."""
        conditions = self.answer_conditions()
        if conditions is None:
            return select.join(Response, Response.id == Answer.response_id).where(*self.conditions())
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
