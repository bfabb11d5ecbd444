"""The company dashboard's data, from the figures module.

Every figure about candidate answers obeys the response threshold: a group with fewer than
``min_responses`` responses yields no numbers, only the fact that there are not enough. A page
reads its live facts in one statement, the company's positions and a sample of comments; the
snapshot's figures are worked out when its rendering is not in the cache (dashboard/views.py).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from functools import cache
from urllib.parse import urlencode

import sqlalchemy as sa

from ..extensions import cache as shared_cache
from ..extensions import db
from ..i18n import SHIPPED
from ..models import STAGES, Answer, Company, Position, Question, Response, Survey
from ..surveys.definitions import BAND_KEYS, LIKERT_KEYS
from ..surveys.scoring import nps_of
from . import figures
from .filters import ResponseFilter, Shape, answers_under, month_of, needs_responses, response_conditions
from .reports import candidate_feedback

BENCHMARK_SECONDS = 300  # the other companies' pooled means are kept this long, not versioned
BENCHMARK_KEY = "benchmark/{company_id}/{k}"
PLATFORM_NPS_KEY = "platform-nps/{company_id}/{k}"
# The company contacts' figures under a filter: their responses' count and newest id stand for them.
GIVEN_KEY = "given/{company_id}/{filter}/{count}/{last}/{k}"
# The breakdowns of the page: by_stage, by_position, by_month and by_language (the wording answered).
DIMENSIONS = ("stage", "position", "month", "language")
FILTER_PARAMS = frozenset({"stage", "position_id", "submitted_from", "submitted_before"})


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
    needed: int = 0  # responses still missing before a withheld group is shown


@dataclass(frozen=True)
class PageFacts:
    """What a dashboard page reads afresh on every visit."""

    company_name: str | None  # None: no such company
    filter: ResponseFilter  # limited to the anonymity snapshot when there is one
    responses: int  # the responses that count (the snapshot's)
    total: int  # all the responses the filter keeps
    requests: dict  # per audience: {"sent": n, "completed": n}, under the filter (filtered_requests)
    company_requests: dict  # the same for all the company's requests, whatever the filter
    contact_responses: int = 0  # the company contacts' responses the filter keeps
    contact_last: int | None = None  # the id of the newest of them (a key of their figures)
    from_email: int = 0  # the company's candidate answers begun from a score in the e-mail (any filter)


def page_facts(flt: ResponseFilter, min_responses: int) -> PageFacts:
    """The company's name, the filter's anonymity snapshot, the company's requests (all and under the
    filter), its contacts' responses under the filter and the answers begun from the e-mail, in one statement."""
    row = db.session.execute(_facts_statement(flt.shape), flt.params() | {"k": max(min_responses, 1)}).one()
    snapshot, counted, total = figures.snapshot_of(flt, row.total, row.cutoff, min_responses)
    company_requests = figures.request_counts_of(row._mapping)
    requests = figures.request_counts_of(row._mapping, "filtered_") if flt.is_filtered else company_requests
    return PageFacts(row.company_name, snapshot, counted, total, requests, company_requests,
                     row.contact_responses, row.contact_last, row.from_email)


def filtered_requests(shape: Shape) -> sa.Subquery:
    """The requests that the cards "Candidates answered" and "Your feedback given" count under a
    filter: those of the applications at the filter's position and stage, *first mailed* in its
    months (figures.request_conditions). The month of mailing, not of answering, so that the
    answered requests are a part of the asked ones and the rate stays a rate."""
    return figures.requests_row(sa.bindparam("company_id"), shape, prefix="filtered_")


def _contact_conditions(shape: Shape) -> list[sa.ColumnElement]:
    """The company contacts' responses under the filter's position, stage and months (no snapshot)."""
    return [Response.audience == "company", *response_conditions(shape - {"audience", "max_response_id"})]


@cache
def _facts_statement(shape: Shape) -> sa.Select:
    total, cutoff = figures.snapshot_columns(shape)
    requests = figures.requests_row(sa.bindparam("company_id"))
    company = sa.select(Company.name).where(Company.id == sa.bindparam("company_id")).scalar_subquery()
    contacts = sa.select(sa.func.count().label("contact_responses"), sa.func.max(Response.id).label("contact_last")) \
        .where(*_contact_conditions(shape)).subquery("contacts")
    from_email = sa.select(sa.func.count()).select_from(Response).where(
        Response.company_id == sa.bindparam("company_id"), Response.audience == "candidate",
        Response.started_from_email).scalar_subquery()
    columns = [company.label("company_name"), total.label("total"), cutoff.label("cutoff"), *requests.c, *contacts.c,
               from_email.label("from_email")]
    statement = sa.select(*columns).select_from(requests).join(contacts, sa.true())
    if shape & FILTER_PARAMS:
        filtered = filtered_requests(shape)
        statement = statement.add_columns(*filtered.c).join(filtered, sa.true())
    return statement


_POSITIONS = (sa.select(Position.id, Position.title).where(Position.company_id == sa.bindparam("company_id"))
              .order_by(Position.title))


def positions(company_id: int) -> list[tuple[int, str]]:
    """The company's positions, for the filter."""
    return [tuple(row) for row in db.session.execute(_POSITIONS, {"company_id": company_id})]


def snapshot_figures(flt: ResponseFilter, min_responses: int) -> dict:
    """The answer figures of one anonymity snapshot: NPS, each question, the breakdowns, decline reasons."""
    params = flt.params()
    counts = figures.answer_counts(lambda s: answers_under(flt.shape, s), (), ("nps", *LIKERT_KEYS),
                                   params=params).get((), {})
    choices = figures.answer_counts(lambda s: answers_under(flt.shape, s), (), ("decline_reasons",), choices=True,
                                    params=params).get((), {})
    questions = []
    for key in LIKERT_KEYS:
        mean, n = figures.mean_of(counts.get(key, {}))
        questions.append(QuestionFigure(key=key, n=n, mean=mean, distribution=dict(counts.get(key, {}))))
    return {
        "nps": nps_of(counts.get("nps", {})), "nps_n": sum(counts.get("nps", {}).values()), "questions": questions,
        **{f"by_{dimension}": breakdown(flt, dimension, min_responses) for dimension in DIMENSIONS},
        "decline_reasons": figures.most_chosen_first(choices.get("decline_reasons", {})),
    }


def _by_language(responses: dict[tuple, int], counts: dict[tuple, figures.Counts]) -> tuple[dict, dict]:
    """Figures grouped by the wording answered (survey id) become figures per language: the wordings
    of every version in one language add up (the question keys are the same)."""
    locales = dict(db.session.execute(sa.select(Survey.id, Survey.locale)).all())
    merged_responses: dict[tuple, int] = {}
    merged_counts: dict[tuple, list] = {}
    for (survey_id,), count in responses.items():
        key = (locales.get(survey_id, "en"),)
        merged_responses[key] = merged_responses.get(key, 0) + count
        merged_counts.setdefault(key, []).append(counts.get((survey_id,), {}))
    return merged_responses, {key: figures.merged(parts) for key, parts in merged_counts.items()}


def breakdown(flt: ResponseFilter, dimension: str, min_responses: int) -> list[GroupFigures]:
    """Responses, NPS and the mean Likert score per stage, position, month or language; small groups withheld."""
    shape = flt.shape
    join = dimension != "stage" or needs_responses(shape)
    if dimension == "stage":
        group = Response.stage if join else Answer.stage
    elif dimension == "position":
        group = Response.position_id
    elif dimension == "language":
        group = Response.survey_id
    else:
        group = month_of(Response.submitted_at, db.engine.dialect.name)
    responses = figures.response_counts(response_conditions(shape), (Response.stage if dimension == "stage" else group,),
                                        params=flt.params())
    counts = figures.answer_counts(lambda s: answers_under(shape, s, join=join), (group,), ("nps", *LIKERT_KEYS),
                                   params=flt.params())
    if dimension == "language":
        responses, counts = _by_language(responses, counts)
    labels = dict(positions(flt.company_id)) if dimension == "position" else {}
    result = []
    def order(item):
        # Stages in process order, months oldest first, positions by title.
        key = item[0][0]
        if dimension == "stage":
            return (STAGES.index(key) if key in STAGES else len(STAGES), str(key))
        if dimension == "language":
            return (SHIPPED.index(key) if key in SHIPPED else len(SHIPPED), str(key))
        return (0, labels.get(key, str(key)))

    for (key,), count in sorted(responses.items(), key=order):
        withheld = count < min_responses
        group_counts = counts.get((key,), {})
        args = ({"stage": str(key)} if dimension == "stage" else {"position": str(key)} if dimension == "position"
                else {} if dimension == "language" else {"from": str(key), "to": str(key)})
        result.append(GroupFigures(
            label=labels.get(key, str(key)), responses=count, withheld=withheld,
            nps=None if withheld else nps_of(group_counts.get("nps", {})),
            score=None if withheld else figures.mean_of(figures.pooled(group_counts, LIKERT_KEYS))[0],
            args=args, needed=max(min_responses - count, 0),
        ))
    return result


def benchmark_means(company_id: int, min_responses: int) -> dict[str, float] | None:
    """The platform benchmark for the company's page (figures.pooled_benchmark), kept in the cache for
    BENCHMARK_SECONDS: answers at other companies never make a page work it out again."""
    return _kept(BENCHMARK_KEY, figures.pooled_benchmark, company_id, min_responses)


def platform_nps(company_id: int, min_responses: int) -> tuple[float, int] | None:
    """(the other companies' pooled NPS, how many they are) under the benchmark's rule (three other
    companies with ``min_responses`` each, figures.platform_nps), kept like benchmark_means()."""
    return _kept(PLATFORM_NPS_KEY, figures.platform_nps, company_id, min_responses)


def _kept(key_format: str, work_out, company_id: int, min_responses: int):
    """``work_out(company_id, min_responses)``, kept in the cache for BENCHMARK_SECONDS under the key
    (in a tuple, so that a None found is told from a miss)."""
    key = key_format.format(company_id=company_id, k=min_responses)
    kept = shared_cache.get(key)
    if kept is None:
        kept = (work_out(company_id, min_responses),)
        shared_cache.set(key, kept, timeout=BENCHMARK_SECONDS)
    return kept[0]


def feedback_given(flt: ResponseFilter, facts: PageFacts, min_responses: int) -> dict | None:
    """What the company's contacts said about the candidates they declined, under the filter's
    position, stage and months: the reasons chosen, each skill's bands and the share open to future
    roles (reports.candidate_feedback, as in `feedback report`); None under ``min_responses``.

    Kept per filter, count and newest id of those responses, so that pages between two answers run
    no GROUP BY."""
    if facts.contact_responses < min_responses:
        return None
    contacts = flt.with_(audience="company", max_response_id=None)
    key = GIVEN_KEY.format(company_id=flt.company_id, filter=urlencode(sorted(contacts.as_args().items())),
                           count=facts.contact_responses, last=facts.contact_last, k=min_responses)
    kept = shared_cache.get(key)
    if kept is None:
        def where(select: sa.Select) -> sa.Select:
            return answers_under(contacts.shape, select)

        params = contacts.params()
        counts = figures.answer_counts(where, (), (*BAND_KEYS, "reconsider"), params=params).get((), {})
        counts |= figures.answer_counts(where, (), ("reasons",), choices=True, params=params).get((), {})
        kept = candidate_feedback({"all": counts}, {"all": facts.contact_responses})
        kept["distributions"] = {key: dict(counts.get(key, {})) for key in BAND_KEYS}
        shared_cache.set(key, kept)
    return kept


def with_benchmark(questions: list[QuestionFigure], benchmark: dict[str, float] | None) -> list[QuestionFigure]:
    """Copies of the question figures with the platform benchmark filled in."""
    return [replace(question, benchmark=(benchmark or {}).get(question.key)) for question in questions]


@cache
def _comments_statement(shape: Shape, limit: int | None) -> sa.Select:
    """The free-text answers to ``improve`` under a filter of this shape: all of them, or a random
    ``limit`` of them, each row with the number there are (on the partial index ix_answers_texts)."""
    chosen = answers_under(shape, sa.select(Answer.id, sa.func.count().over().label("total")).select_from(Answer).where(
        Answer.question_id.in_(sa.select(Question.id).where(Question.key == "improve")),
        Answer.text.is_not(None), Answer.number.is_(None)))
    if limit is not None:
        chosen = chosen.order_by(sa.func.random()).limit(limit)
    chosen = chosen.cte("chosen")
    return sa.select(chosen.c.total, Answer.text).join(chosen, chosen.c.id == Answer.id)


def comments(flt: ResponseFilter, limit: int | None = None) -> tuple[list[str], int]:
    """(free-text answers in random order, how many there are): a random ``limit`` of them (None:
    all), without anything that says who wrote them. Read afresh each time: an erased text is
    gone from the next page."""
    rows = db.session.execute(_comments_statement(flt.shape, limit), flt.params()).all()
    texts = [text for _total, text in rows]
    random.shuffle(texts)
    return texts, rows[0].total if rows else 0
