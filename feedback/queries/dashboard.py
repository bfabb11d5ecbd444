"""The company dashboard's figures, each a GROUP BY in SQL returning a few rows.

Every figure about candidate answers obeys the response threshold: a group with fewer than
``min_responses`` responses yields no numbers, only the fact that there are not enough.
"""
from __future__ import annotations

import random
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql

from ..database import DriverStatement, read_connection
from ..extensions import db
from ..models import Answer, AnswerChanges, Company, Position, Question, RequestTally, Response
from ..surveys.definitions import LIKERT_KEYS
from ..surveys.scoring import DETRACTOR_MAX, PROMOTER_MIN
from .filters import ResponseFilter, month_of

BENCHMARK_MIN_COMPANIES = 3
FIGURES_CACHE_SIZE = 512


def app_cache(name: str) -> OrderedDict:
    """A cache of figures kept on the app (so per process, and new with every app), bounded by
    FIGURES_CACHE_SIZE entries where entries can pile up."""
    return current_app.extensions.setdefault("feedback_figures", {}).setdefault(name, OrderedDict())


def remember(cache: OrderedDict, key: tuple, value):
    cache[key] = value
    if len(cache) > FIGURES_CACHE_SIZE:
        cache.popitem(last=False)
    return value


def recall(cache: OrderedDict, key):
    """The cached value or None; a hit becomes the newest entry, so the least used go first."""
    value = cache.get(key)
    if value is not None:
        cache.move_to_end(key)
    return value


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


@dataclass(frozen=True)
class PageFacts:
    """What a dashboard page reads afresh on every visit (page_facts)."""

    company_name: str | None  # None: no such company
    responses: int  # all the responses the filter keeps (before the anonymity snapshot)
    requests: dict  # per audience: {"sent": n, "completed": n}, as reports.request_counts
    newest_response_id: int | None  # of any company: the platform benchmark's version
    positions: list  # (id, title) of the company's positions, by title
    answer_changes: int  # deletions and edits of stored answers so far: the kept comments' version


def page_facts(flt: ResponseFilter) -> PageFacts:
    """The page's live numbers in one statement (one round trip), each a lookup or an index-only count.

    The company's name (None if there is no such company: the caller answers 404), the responses
    the filter keeps, the company's requests mailed and answered per audience (from
    request_tallies), the newest response id, a version of the company's positions (their count
    and newest id: positions are only ever added, never renamed) and of stored answers
    (answer_changes, for the kept comments). The statement is built and compiled once per filter
    and run on the driver's cursor (DriverStatement).
    """
    connection = read_connection()
    statement = recall(app_cache("facts_statements"), flt)
    if statement is None:
        statement = remember(app_cache("facts_statements"), flt,
                             DriverStatement(_facts_statement(flt), connection.dialect))
    (company_name, responses, candidate_sent, candidate_completed, company_sent, company_completed, newest,
     position_count, newest_position, answer_changes) = statement.first(connection, {})
    key = (flt.company_id, position_count, newest_position)
    company_positions = recall(app_cache("positions"), key)
    if company_positions is None:
        company_positions = remember(app_cache("positions"), key, positions(flt.company_id))
    return PageFacts(
        company_name=company_name,
        responses=responses,
        requests={"candidate": {"sent": candidate_sent, "completed": candidate_completed},
                  "company": {"sent": company_sent, "completed": company_completed}},
        newest_response_id=newest,
        positions=company_positions,
        answer_changes=answer_changes,
    )


def _facts_statement(flt: ResponseFilter) -> sa.Select:
    def scalar(select: sa.Select) -> sa.ScalarSelect:
        return select.scalar_subquery()

    # request_tallies: one row per company and audience (none before the first is mailed), read
    # once for the four numbers (an aggregate without GROUP BY: always one row).
    tallies = sa.select(*(
        sa.func.coalesce(sa.func.sum(column).filter(RequestTally.audience == audience), 0).label(f"{audience}_{column.key}")
        for audience in ("candidate", "company") for column in (RequestTally.sent, RequestTally.completed)
    )).where(RequestTally.company_id == flt.company_id).subquery()
    return sa.select(
        scalar(sa.select(Company.name).where(Company.id == flt.company_id)),
        scalar(sa.select(sa.func.count()).select_from(Response).where(*flt.conditions())),
        *tallies.c,
        scalar(sa.select(sa.func.max(Response.id))),
        scalar(sa.select(sa.func.count()).select_from(Position).where(Position.company_id == flt.company_id)),
        scalar(sa.select(sa.func.max(Position.id)).where(Position.company_id == flt.company_id)),
        sa.func.coalesce(scalar(sa.select(AnswerChanges.changes).where(AnswerChanges.id == 1)), 0),
    ).select_from(tallies)


def snapshot_filter(flt: ResponseFilter, min_responses: int, total: int | None = None) -> tuple[ResponseFilter, int, int]:
    """Freeze the figures between steps of ``min_responses`` responses.

    Only the first ``(n // k) * k`` responses (by id) count, so figures change only when the group
    has grown by the threshold: no single new response can be isolated by comparing a page, an
    export or an API figure before and after it. Returns (filter, responses counted, all responses).
    ``total`` is the filter's response count when the caller has it (page_facts).
    """
    if total is None:
        total = response_count(flt)
    counted = (total // min_responses) * min_responses if min_responses > 0 else total
    if counted == 0:
        return flt, counted, total
    # Responses are never deleted (erasure keeps them; only a company's removal takes its own), so
    # a filter with the same number of responses holds the same responses and its cutoff is kept.
    key = (flt, total, counted)
    cutoff = recall(app_cache("cutoffs"), key)
    if cutoff is None:
        cutoff = remember(app_cache("cutoffs"), key, db.session.scalar(
            sa.select(Response.id).where(*flt.conditions()).order_by(Response.id).offset(counted - 1).limit(1)
        ))
    # Set even when every response counts: (filter, cutoff, count) then names one fixed set of
    # responses, which is what snapshot_figures() keys its cache on.
    return flt.with_(max_response_id=cutoff), counted, total


def _nps(n: int, promoters: int, detractors: int) -> float | None:
    return 100.0 * (promoters - detractors) / n if n else None


def question_figures(flt: ResponseFilter) -> tuple[float | None, int, list[QuestionFigure]]:
    """NPS, NPS answer count and each Likert question's mean, n and 1-5 distribution."""
    rows = db.session.execute(flt.answers(
        sa.select(Question.key, Answer.number, sa.func.count())
        .select_from(Answer)
        .join(Question, Question.id == Answer.question_id)
        .where(Answer.number.is_not(None), Question.key.in_(("nps", *LIKERT_KEYS)))
        .group_by(Question.key, Answer.number)
    )).all()
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


BENCHMARK_MAX_AGE = 300.0  # seconds


def benchmark_means(company_id: int, min_responses: int, newest: int | None = None) -> dict[str, float] | None:
    """Each Likert question's pooled mean over the other companies with enough responses.

    None unless at least BENCHMARK_MIN_COMPANIES other companies each have ``min_responses``.
    Pooling every other company's answers is the costliest figure on the page, so it is kept per
    process: recomputed when a response is added (the newest response id, one index lookup) and
    at the latest after BENCHMARK_MAX_AGE seconds (a response committed after a newer one).
    ``newest`` is that id when the caller has read it (page_facts).
    """
    if newest is None:
        newest = db.session.scalar(sa.select(sa.func.max(Response.id)))
    key = (company_id, min_responses, newest)
    now = time.monotonic()
    cache = app_cache("benchmark")
    cached = recall(cache, key)
    if cached is None or now - cached[0] > BENCHMARK_MAX_AGE:
        cached = remember(cache, key, (now, _pooled_benchmark(company_id, min_responses)))
    return cached[1]


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


def snapshot_figures(flt: ResponseFilter, counted: int, min_responses: int) -> dict:
    """The dashboard's answer figures for one anonymity snapshot (see snapshot_filter).

    A snapshot is a fixed set of responses, the first ``counted`` (by id) up to
    ``flt.max_response_id``; their numeric and choice answers never change once stored, so the
    figures are worked out once per snapshot and process and reused until the snapshot moves
    (every ``min_responses`` new responses). Free-text comments are not part of them: an erasure
    removes comments (see comments()). The returned figures are shared: copy before changing them.
    """
    key = (flt, counted, min_responses)
    cache = app_cache("snapshots")
    found = cache.get(key)
    if found is not None and flt.max_response_id is not None:
        cache.move_to_end(key)
        return found
    nps, nps_n, questions = question_figures(flt)
    found = {
        "nps": nps, "nps_n": nps_n, "questions": questions,
        "by_stage": breakdown(flt, "stage", min_responses),
        "by_position": breakdown(flt, "position", min_responses),
        "by_month": breakdown(flt, "month", min_responses),
        "decline_reasons": choice_counts(flt, "decline_reasons"),
    }
    if flt.max_response_id is not None:
        remember(cache, key, found)
    return found


def with_benchmark(questions: list[QuestionFigure], benchmark: dict[str, float] | None) -> list[QuestionFigure]:
    """Copies of the question figures with the platform benchmark filled in."""
    return [replace(question, benchmark=(benchmark or {}).get(question.key)) for question in questions]


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
    return db.session.execute(flt.answers(
        sa.select(Answer.text, sa.func.count())
        .select_from(Answer)
        .where(Answer.question_id.in_(sa.select(Question.id).where(Question.key == key)), Answer.text.is_not(None))
        .group_by(Answer.text)
        .order_by(sa.func.count().desc(), Answer.text)
    )).all()


def comments(flt: ResponseFilter, key: str = "improve", limit: int | None = 200,
             counted: int | None = None, answer_changes: int | None = None) -> tuple[list[str], int]:
    """(free-text answers in random order, how many there are): a random ``limit`` of them (None:
    all), without anything that says who wrote them.

    Within an anonymity snapshot (the ``counted`` responses up to ``flt.max_response_id``) comments
    are only ever taken away (an erasure deletes a text), never added, and every deletion or edit
    of an answer moves ``answer_changes`` (kept by triggers, read by page_facts). So a snapshot's
    comments are read once per process and kept while those numbers stand: the page draws its
    sample from memory, and an erasure shows at once. (The count is part of the version: on
    PostgreSQL a response can commit after one with a higher id, so the same cutoff can come to
    count one more response.) A filter whose texts would take more than COMMENT_TEXTS_KEPT
    characters keeps only their ids and reads the sample's texts by id, under the same filter.
    """
    if limit is None or flt.max_response_id is None or counted is None or answer_changes is None:
        texts = list(db.session.scalars(_comment_statements(flt, key)[0]))
        random.shuffle(texts)
        return (texts if limit is None else texts[:limit]), len(texts)
    cache = app_cache("comments")
    # One entry per filter, the latest snapshot's: older snapshots never return.
    slot = (flt.with_(max_response_id=None), key)
    version = (flt.max_response_id, counted, answer_changes)
    kept = recall(cache, slot)
    if kept is None or kept.version != version:
        kept = _keep_comments(cache, slot, version, db.session.execute(_comment_statements(flt, key)[1]).all())
    if kept.texts is not None:
        return random.sample(kept.texts, min(limit, len(kept.texts))), len(kept.texts)
    sample = random.sample(kept.ids, min(limit, len(kept.ids)))
    texts = list(db.session.connection().execute(_comment_statements(flt, key)[2], {"ids": sample}).scalars())
    random.shuffle(texts)
    return texts, len(kept.ids)


# Characters of comment text a process keeps for the dashboard's samples, in all and per filter.
COMMENT_TEXTS_KEPT = 4_000_000
COMMENT_TEXTS_KEPT_IN_ALL = 16_000_000


class _KeptComments(NamedTuple):
    version: tuple[int, int, int]  # (snapshot cutoff, responses counted, answer_changes)
    ids: tuple[int, ...]
    texts: tuple[str, ...] | None  # None: too long to keep, read by id
    size: int  # characters kept (an id counts as 8)


def _keep_comments(cache: OrderedDict, slot: tuple, version: tuple[int, int, int], rows: list) -> _KeptComments:
    ids = tuple(row[0] for row in rows)
    chars = sum(len(row[1]) for row in rows)
    texts = tuple(row[1] for row in rows) if chars <= COMMENT_TEXTS_KEPT else None
    kept = _KeptComments(version, ids, texts, 8 * len(ids) + (chars if texts is not None else 0))
    cache.pop(slot, None)
    remember(cache, slot, kept)
    while len(cache) > 1 and sum(entry.size for entry in cache.values()) > COMMENT_TEXTS_KEPT_IN_ALL:
        cache.popitem(last=False)
    return kept


def _comment_statements(flt: ResponseFilter, key: str) -> tuple[sa.Select, sa.Select, sa.Select]:
    """comments()' statements for one filter, built once: the texts, their ids with the texts, and
    the texts of some of those ids."""
    statements = recall(app_cache("comment_statements"), (flt, key))
    if statements is None:
        chosen = flt.answers(sa.select(Answer.id, Answer.text).select_from(Answer).where(
            Answer.question_id.in_(sa.select(Question.id).where(Question.key == key)), Answer.text.is_not(None)))
        if db.engine.dialect.name == "postgresql":
            # One array parameter: the same short statement for any sample, which psycopg prepares.
            chosen_ids = Answer.id == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.Integer)))
        else:
            chosen_ids = Answer.id.in_(sa.bindparam("ids", expanding=True))
        # By id, under the same filter: an id freed by an erasure and taken by another company's
        # answer (SQLite reuses the highest id) can never bring that answer in.
        texts_of = chosen.with_only_columns(Answer.text).where(chosen_ids)
        statements = remember(app_cache("comment_statements"), (flt, key),
                              (chosen.with_only_columns(Answer.text), chosen, texts_of))
    return statements
