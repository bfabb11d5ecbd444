"""Every figure of answers and requests, each a GROUP BY in SQL returning a few rows.

The one source that `feedback report` and the API (queries/reports.py), the dashboard and its
CSV export (queries/dashboard.py) and the recruiter overview read. Answers come as counts per
question and value, ``{key: {value: answers}}`` (numbers by number, choices by code): from the
running tallies (answer_tallies: the current figures, a few hundred rows whatever the number of
answers) or from the answers under a filter (an anonymity snapshot). ``surveys.scoring`` turns
counts into NPS and means.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cache

import sqlalchemy as sa

from ..extensions import db
from ..models import Answer, AnswerTally, Application, FeedbackRequest, Question, Response
from ..surveys.definitions import LIKERT_KEYS
from ..surveys.scoring import mean, nps_of
from .filters import ResponseFilter, Shape, response_conditions

AUDIENCES = ("candidate", "company")
BENCHMARK_MIN_COMPANIES = 3
Counts = dict[str, dict]  # question key -> {value: answers}


# --- requests ---------------------------------------------------------------------------------

def requests_row(company_id, shape: Shape = frozenset(), prefix: str = "") -> sa.Subquery:
    """One row: the company's requests mailed and answered per audience (``<prefix><audience>_sent``,
    ``<prefix><audience>_completed``), counted on the index that covers them (ix_feedback_requests_counts).

    With a filter's ``shape``, only the requests under request_conditions(shape) count."""
    requests = FeedbackRequest.__table__.c
    statement = sa.select(*(
        sa.func.count(column).filter(requests.audience == audience).label(f"{prefix}{audience}_{name}")
        for audience in AUDIENCES for name, column in (("sent", requests.first_sent_at),
                                                       ("completed", requests.answered_at))
    )).where(requests.company_id == company_id, *request_conditions(shape))
    if shape & {"stage", "position_id"}:
        statement = statement.join_from(FeedbackRequest, Application, Application.id == FeedbackRequest.application_id)
    return statement.subquery(f"{prefix}requests")


def request_conditions(shape: Shape) -> list[sa.ColumnElement]:
    """WHERE conditions on requests (and their applications) for a response filter of this shape, run
    with its ``params()``: the application's stage and position, and the month the request was
    *first mailed* (not answered), so that "answered" counts answers to the requests "asked" counts."""
    conditions = []
    for name, column in (("stage", Application.stage), ("position_id", Application.position_id)):
        if name in shape:
            conditions.append(column == sa.bindparam(name, type_=column.type))
    sent = FeedbackRequest.first_sent_at
    if "submitted_from" in shape:
        conditions.append(sent >= sa.bindparam("submitted_from", type_=sent.type))
    if "submitted_before" in shape:
        conditions.append(sent < sa.bindparam("submitted_before", type_=sent.type))
    return conditions


def request_counts_of(row: Mapping, prefix: str = "") -> dict:
    """{audience: {"sent": n, "completed": n}} from a row holding requests_row()'s columns."""
    return {audience: {"sent": row[f"{prefix}{audience}_sent"], "completed": row[f"{prefix}{audience}_completed"]}
            for audience in AUDIENCES}


def request_counts(company_id: int) -> dict:
    """The company's requests mailed and answered, per audience."""
    return request_counts_of(db.session.execute(sa.select(requests_row(company_id))).one()._mapping)


# --- answers ----------------------------------------------------------------------------------

def _add(result: dict[tuple, Counts], group: tuple, key: str, value, count: int) -> None:
    values = result.setdefault(group, {}).setdefault(key, {})
    values[value] = values.get(value, 0) + count


def tallied(conditions: Iterable[sa.ColumnElement], groups: Iterable[sa.ColumnElement]) -> dict[tuple, Counts]:
    """{group: counts} of the numbers and choices the conditions keep, from answer_tallies."""
    groups = list(groups)
    result: dict[tuple, Counts] = {}
    for *group, key, kind, value, count in db.session.execute(
        sa.select(*groups, Question.key, Question.kind, AnswerTally.value, sa.func.sum(AnswerTally.count))
        .join(Question, Question.id == AnswerTally.question_id)
        .where(*conditions)
        .group_by(*groups, Question.key, Question.kind, AnswerTally.value)
    ).all():
        _add(result, tuple(group), key, value if kind == "choices" else int(value), int(count))
    return result


def answer_counts(where: Callable[[sa.Select], sa.Select], groups: Iterable[sa.ColumnElement], keys: Iterable[str],
            choices: bool = False, params: Mapping | None = None) -> dict[tuple, Counts]:
    """{group: counts} of the answers to ``keys`` that ``where`` keeps: numbers by number, or with
    ``choices`` the codes chosen."""
    groups = list(groups)
    value = Answer.text if choices else Answer.number
    statement = where(
        sa.select(*groups, Question.key, value, sa.func.count()).select_from(Answer)
        .join(Question, Question.id == Answer.question_id)
        .where(Question.key.in_(list(keys)), value.is_not(None))
        .group_by(*groups, Question.key, value))
    result: dict[tuple, Counts] = {}
    for *group, key, number, count in db.session.execute(statement, params or {}).all():
        _add(result, tuple(group), key, number, count)
    return result


def response_counts(conditions: Iterable[sa.ColumnElement], groups: Iterable[sa.ColumnElement],
              params: Mapping | None = None) -> dict[tuple, int]:
    """{group: responses} of the responses the conditions keep."""
    groups = list(groups)
    statement = sa.select(*groups, sa.func.count()).select_from(Response).where(*conditions).group_by(*groups)
    return {tuple(group): count for *group, count in db.session.execute(statement, params or {}).all()}


def merged(counts: Iterable[Counts]) -> Counts:
    """Several groups' counts added up."""
    result: dict[tuple, Counts] = {}
    for group in counts:
        for key, values in group.items():
            for value, count in values.items():
                _add(result, (), key, value, count)
    return result.get((), {})


def mean_of(values: Mapping) -> tuple[float | None, int]:
    """(mean, n) of a question's numbers {number: answers}."""
    n = sum(values.values())
    return mean(sum(number * count for number, count in values.items()), n), n


def pooled(counts: Counts, keys: Iterable[str]) -> dict:
    """The numbers of several questions as one {number: answers}."""
    result: dict = {}
    for key in keys:
        for number, count in counts.get(key, {}).items():
            result[number] = result.get(number, 0) + count
    return result


def most_chosen_first(values: Mapping) -> list[tuple[str, int]]:
    """A choice question's (code, times chosen), most chosen first."""
    return sorted(values.items(), key=lambda item: (-item[1], item[0]))


# --- the platform benchmark -------------------------------------------------------------------

def benchmark_companies(company_id: int, min_responses: int) -> list[int]:
    """The other companies with ``min_responses`` candidate responses, if BENCHMARK_MIN_COMPANIES
    of them have (else none): the companies a platform benchmark pools."""
    others = list(db.session.scalars(
        sa.select(Response.company_id)
        .where(Response.audience == "candidate", Response.company_id != company_id)
        .group_by(Response.company_id)
        .having(sa.func.count() >= min_responses)))
    return others if len(others) >= BENCHMARK_MIN_COMPANIES else []


def pooled_benchmark(company_id: int, min_responses: int) -> dict[str, float] | None:
    """Each Likert question's pooled mean over the benchmark_companies(), from their tallies; None
    without a benchmark."""
    others = benchmark_companies(company_id, min_responses)
    if not others:
        return None
    counts = tallied([AnswerTally.audience == "candidate", AnswerTally.company_id.in_(others),
                      Question.key.in_(LIKERT_KEYS)], ()).get((), {})
    means = {key: mean_of(values)[0] for key, values in counts.items()}
    return {key: value for key, value in means.items() if value is not None}


def platform_nps(company_id: int, min_responses: int) -> tuple[float, int] | None:
    """(the pooled NPS of the benchmark_companies(), how many they are), from their tallies; None
    without a benchmark."""
    others = benchmark_companies(company_id, min_responses)
    if not others:
        return None
    counts = tallied([AnswerTally.audience == "candidate", AnswerTally.company_id.in_(others),
                      Question.key == "nps"], ()).get((), {})
    score = nps_of(counts.get("nps", {}))
    return None if score is None else (score, len(others))


# --- the anonymity snapshot -------------------------------------------------------------------

def snapshot_columns(shape: Shape) -> tuple[sa.ScalarSelect, sa.ScalarSelect]:
    """(all responses the filter keeps, the id of the last one that counts) as scalar subqueries.

    Only the first ``(n div k) × k`` responses (by id) count, so figures change only when the
    group has grown by the threshold ``k`` (bound parameter): no single new response can be
    isolated by comparing a page, an export or an API figure before and after it.
    """
    conditions = response_conditions(shape)
    # Counted once in a CTE (both databases compute a CTE that is read twice only once), read by the
    # total and by the cutoff's offset.
    counted = sa.select(sa.func.count().label("n")).select_from(Response).where(*conditions).cte("snapshot_count")
    total = sa.select(counted.c.n).scalar_subquery()
    last = counted.c.n - counted.c.n % sa.bindparam("k") - 1
    offset = sa.select(sa.case((last > 0, last), else_=0)).scalar_subquery()
    cutoff = sa.select(Response.id).where(*conditions).order_by(Response.id).limit(1).offset(offset).scalar_subquery()
    return total, cutoff


@cache
def _snapshot_statement(shape: Shape) -> sa.Select:
    return sa.select(*snapshot_columns(shape))


def counted_responses(total: int, min_responses: int) -> int:
    """How many of ``total`` responses count in the snapshot."""
    return total - total % max(min_responses, 1)


def snapshot(flt: ResponseFilter, min_responses: int) -> tuple[ResponseFilter, int, int]:
    """(the filter limited to its anonymity snapshot, responses counted, all responses)."""
    total, cutoff = db.session.execute(_snapshot_statement(flt.shape),
                                       flt.params() | {"k": max(min_responses, 1)}).one()
    return snapshot_of(flt, total, cutoff, min_responses)


def snapshot_of(flt: ResponseFilter, total: int, cutoff: int | None, min_responses: int) -> tuple[ResponseFilter, int, int]:
    """snapshot() from the values of snapshot_columns()."""
    counted_ = counted_responses(total, min_responses)
    return (flt.with_(max_response_id=cutoff) if counted_ else flt), counted_, total
