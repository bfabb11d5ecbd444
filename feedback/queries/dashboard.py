"""The company dashboard's figures, each a GROUP BY in SQL returning a few rows.

Every figure about candidate answers obeys the response threshold: a group with fewer than
``min_responses`` responses yields no numbers, only the fact that there are not enough.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from ..extensions import db
from ..models import Answer, Position, Question, Response
from ..survey.definitions import LIKERT_KEYS
from .filters import ResponseFilter, month_of
from .reports import DETRACTOR_MAX, PROMOTER_MIN

BENCHMARK_MIN_COMPANIES = 3


@dataclass
class QuestionFigure:
    key: str
    n: int
    mean: float | None
    distribution: dict[int, int] = field(default_factory=dict)
    benchmark: float | None = None

    @property
    def gap(self) -> float | None:
        """How far below (negative) or above the benchmark this question stands."""
        if self.mean is None or self.benchmark is None:
            return None
        return self.mean - self.benchmark


@dataclass
class GroupFigures:
    label: str
    responses: int
    withheld: bool
    nps: float | None = None
    score: float | None = None  # mean of all Likert answers
    args: dict = field(default_factory=dict)


def response_count(flt: ResponseFilter) -> int:
    """How many responses the filter keeps."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Response).where(*flt.conditions()))


def snapshot_filter(flt: ResponseFilter, min_responses: int) -> tuple[ResponseFilter, int, int]:
    """Freeze the figures between steps of ``min_responses`` responses.

    Only the first ``(n // k) * k`` responses (by id) count, so figures change only when the group
    has grown by the threshold: no single new response can be isolated by comparing a page, an
    export or an API figure before and after it. Returns (filter, responses counted, all responses).
    """
    total = response_count(flt)
    counted = (total // min_responses) * min_responses if min_responses > 0 else total
    # Always one cutoff query (even when it changes nothing), so a page costs the same number of
    # queries whatever the count.
    cutoff = db.session.scalar(
        sa.select(Response.id).where(*flt.conditions()).order_by(Response.id).offset(max(counted - 1, 0)).limit(1)
    )
    if counted == 0 or counted == total:
        return flt, counted, total
    return flt.with_(max_response_id=cutoff), counted, total


def _nps(n: int, promoters: int, detractors: int) -> float | None:
    return 100.0 * (promoters - detractors) / n if n else None


def question_figures(flt: ResponseFilter) -> tuple[float | None, int, list[QuestionFigure]]:
    """NPS, NPS answer count and each Likert question's mean, n and 1-5 distribution."""
    rows = db.session.execute(
        sa.select(Question.key, Answer.number, sa.func.count())
        .join(Answer, Answer.question_id == Question.id)
        .join(Response, Response.id == Answer.response_id)
        .where(*flt.conditions(), Answer.number.is_not(None), Question.key.in_(("nps", *LIKERT_KEYS)))
        .group_by(Question.key, Answer.number)
    ).all()
    distributions: dict[str, dict[int, int]] = {key: {} for key in ("nps", *LIKERT_KEYS)}
    for key, number, count in rows:
        distributions[key][int(number)] = count
    nps_counts = distributions.pop("nps")
    nps_n = sum(nps_counts.values())
    promoters = sum(c for value, c in nps_counts.items() if value >= PROMOTER_MIN)
    detractors = sum(c for value, c in nps_counts.items() if value <= DETRACTOR_MAX)
    figures = []
    for key in LIKERT_KEYS:
        counts = distributions[key]
        n = sum(counts.values())
        mean = sum(value * c for value, c in counts.items()) / n if n else None
        figures.append(QuestionFigure(key=key, n=n, mean=mean, distribution=counts))
    return _nps(nps_n, promoters, detractors), nps_n, figures


_BENCHMARK_CACHE: dict[tuple, dict[str, float] | None] = {}


def benchmark_means(company_id: int, min_responses: int) -> dict[str, float] | None:
    """Each Likert question's pooled mean over the other companies with enough responses.

    None unless at least BENCHMARK_MIN_COMPANIES other companies each have ``min_responses``.
    Pooling every other company's answers is the costliest figure on the page, so it is kept per
    process and recomputed only when the candidate responses change (their count, newest id or time).
    """
    count, newest, latest = db.session.execute(
        sa.select(sa.func.count(), sa.func.max(Response.id), sa.func.max(Response.submitted_at))
        .where(Response.audience == "candidate")
    ).one()
    key = (str(db.engine.url), company_id, min_responses, count, newest, str(latest))
    if key not in _BENCHMARK_CACHE:
        if len(_BENCHMARK_CACHE) > 1000:
            _BENCHMARK_CACHE.clear()
        _BENCHMARK_CACHE[key] = _pooled_benchmark(company_id, min_responses)
    return _BENCHMARK_CACHE[key]


def _pooled_benchmark(company_id: int, min_responses: int) -> dict[str, float] | None:
    eligible = (
        sa.select(Response.company_id)
        .where(Response.audience == "candidate", Response.company_id != company_id)
        .group_by(Response.company_id)
        .having(sa.func.count() >= min_responses)
        .subquery()
    )
    companies = db.session.scalar(sa.select(sa.func.count()).select_from(eligible))
    if companies < BENCHMARK_MIN_COMPANIES:
        return None
    rows = db.session.execute(
        sa.select(Question.key, sa.func.sum(Answer.number), sa.func.count(Answer.number))
        .join(Answer, Answer.question_id == Question.id)
        .join(Response, Response.id == Answer.response_id)
        .where(Response.audience == "candidate", Response.company_id.in_(sa.select(eligible.c.company_id)),
               Question.key.in_(LIKERT_KEYS), Answer.number.is_not(None))
        .group_by(Question.key)
    ).all()
    return {key: float(total) / n for key, total, n in rows if n}


def breakdown(flt: ResponseFilter, dimension: str, min_responses: int) -> list[GroupFigures]:
    """Responses, NPS and the mean Likert score per stage, position or month; small groups withheld."""
    if dimension == "stage":
        group = Response.stage
    elif dimension == "position":
        group = Response.position_id
    else:
        group = month_of(Response.submitted_at, db.engine.dialect.name)
    counts = dict(
        db.session.execute(
            sa.select(group, sa.func.count()).where(*flt.conditions()).group_by(group)
        ).all()
    )
    is_nps = Question.key == "nps"
    figures = db.session.execute(
        sa.select(
            group,
            sa.func.sum(sa.case((is_nps, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(is_nps, Answer.number >= PROMOTER_MIN), 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(is_nps, Answer.number <= DETRACTOR_MAX), 1), else_=0)),
            sa.func.sum(sa.case((is_nps, None), else_=Answer.number)),
            sa.func.sum(sa.case((is_nps, 0), else_=1)),
        )
        .select_from(Response)
        .join(Answer, Answer.response_id == Response.id)
        .join(Question, Question.id == Answer.question_id)
        .where(*flt.conditions(), Answer.number.is_not(None), Question.key.in_(("nps", *LIKERT_KEYS)))
        .group_by(group)
    ).all()
    by_group = {row[0]: row[1:] for row in figures}
    labels = _position_titles(flt.company_id) if dimension == "position" else {}
    result = []
    for key in sorted(counts, key=lambda k: (str(k) if dimension != "position" else labels.get(k, ""))):
        responses = counts[key]
        withheld = responses < min_responses
        nps_n, promoters, detractors, likert_sum, likert_n = (int(v or 0) for v in by_group.get(key, (0,) * 5))
        label = labels.get(key, str(key)) if dimension == "position" else str(key)
        args = {dimension if dimension != "month" else "from": str(key)}
        if dimension == "month":
            args["to"] = str(key)
        result.append(GroupFigures(
            label=label, responses=responses, withheld=withheld,
            nps=None if withheld else _nps(nps_n, promoters, detractors),
            score=None if withheld or not likert_n else likert_sum / likert_n,
            args=args,
        ))
    return result


def _position_titles(company_id: int) -> dict[int, str]:
    return dict(db.session.execute(sa.select(Position.id, Position.title).where(Position.company_id == company_id)).all())


def positions(company_id: int) -> list[tuple[int, str]]:
    """The company's positions, for the filter."""
    return db.session.execute(
        sa.select(Position.id, Position.title).where(Position.company_id == company_id).order_by(Position.title)
    ).all()


def choice_counts(flt: ResponseFilter, key: str) -> list[tuple[str, int]]:
    """How often each option of a multi-choice question was chosen, most frequent first."""
    return db.session.execute(
        sa.select(Answer.text, sa.func.count())
        .join(Response, Response.id == Answer.response_id)
        .join(Question, Question.id == Answer.question_id)
        .where(*flt.conditions(), Question.key == key, Answer.text.is_not(None))
        .group_by(Answer.text)
        .order_by(sa.func.count().desc(), Answer.text)
    ).all()


def comments(flt: ResponseFilter, key: str = "improve", limit: int = 200) -> list[str]:
    """Free-text answers in random order, without anything that says who wrote them."""
    return list(db.session.scalars(
        sa.select(Answer.text)
        .join(Response, Response.id == Answer.response_id)
        .join(Question, Question.id == Answer.question_id)
        .where(*flt.conditions(), Question.key == key, Answer.text.is_not(None))
        .order_by(sa.func.random())
        .limit(limit)
    ))
