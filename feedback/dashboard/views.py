"""The company dashboard page and its CSV exports, scoped and thresholded alike."""
from __future__ import annotations

import re

from flask import abort, current_app, render_template, request
from flask_login import current_user

from ..access import CompanyRef, may_see_company_or_404, roles_required
from ..exports import csv_response
from ..extensions import db
from ..models import STAGE_LABELS, STAGES
from ..queries import dashboard as figures
from ..queries.filters import ResponseFilter
from ..reports_text import QUESTION_LABELS
from ..services.audit import record
from ..surveys.definitions import DECLINE_REASONS
from . import bp

ALL_ROLES = ("admin", "recruiter", "company")
SHORTFALL_COUNT = 3
COMMENTS_SHOWN = 50  # a random sample on the page; the CSV export holds every comment


def _dashboard_data(company_id: int) -> dict:
    may_see_company_or_404(company_id)
    k = current_app.config["FEEDBACK_MIN_RESPONSES"]
    flt = ResponseFilter.from_args(company_id, request.args)
    facts = figures.page_facts(flt)
    if facts.company_name is None:
        abort(404)
    company = CompanyRef(company_id, facts.company_name)
    flt, responses, total = figures.snapshot_filter(flt, k, total=facts.responses)
    enough = responses >= k
    data = {
        "company": company, "filter": flt, "k": k, "responses": responses, "total_responses": total,
        "enough": enough, "requests": facts.requests, "positions": facts.positions,
    }
    if not enough:
        return data
    found = figures.snapshot_figures(flt, responses, k)
    data |= {
        "nps": found["nps"], "nps_n": found["nps_n"], "found": found,
        "benchmark": figures.benchmark_means(company.id, k, newest=facts.newest_response_id),
        **dict(zip(("comments", "comment_count"),
                   figures.comments(flt, limit=COMMENTS_SHOWN, counted=responses,
                                    answer_changes=facts.answer_changes))),
    }
    return data


def _snapshot_tables(data: dict) -> dict:
    """The snapshot's tables (questions against the benchmark, shortfalls, breakdowns), worked out
    from its figures: for the figures fragment when it is not kept yet, and for the CSV export."""
    found, benchmark = data["found"], data["benchmark"]
    questions = figures.with_benchmark(found["questions"], benchmark)
    answered = [q for q in questions if q.mean is not None]
    if benchmark:
        shortfalls = sorted((q for q in answered if q.gap is not None and q.gap < 0), key=lambda q: q.gap)
    else:
        shortfalls = sorted(answered, key=lambda q: q.mean)
    return {
        "questions": questions, "shortfalls": shortfalls[:SHORTFALL_COUNT], "by_stage": found["by_stage"],
        "by_position": found["by_position"], "by_month": found["by_month"],
        "decline_reasons": found["decline_reasons"],
    }


@bp.route("/<int:company_id>/dashboard")
@roles_required(*ALL_ROLES)
def company(company_id: int):
    """Where did our process fall short? Figures only for groups that meet the threshold."""
    data = _dashboard_data(company_id)
    labels = {"stage_labels": STAGE_LABELS, "labels": QUESTION_LABELS, "decline_labels": DECLINE_LABELS}
    if data["enough"]:
        data["figures"] = figures_fragment(data, labels)
    return render_template("dashboard/company.html", **data, **labels, stages=STAGES)


DECLINE_LABELS = dict(DECLINE_REASONS)


def figures_fragment(data: dict, labels: dict):
    """The snapshot's figures as a rendered template (dashboard/_figures.html), once per snapshot.

    They are the same for every page of one anonymity snapshot (filter, cutoff, count) and one
    platform benchmark, and rendering them is most of a page's cost, so the rendered module is
    kept like the figures themselves. It is Jinja's own output of an autoescaped template
    (``make_module``); Jinja prints a template module as the HTML it rendered, as it would an
    ``{% include %}``: nothing of the request and no unescaped text goes into it.
    """
    flt = data["filter"]
    benchmark = data["benchmark"]
    key = (flt, data["responses"], data["k"], tuple(sorted(benchmark.items())) if benchmark else None)
    cache = figures.app_cache("figures_html")
    fragment = figures.recall(cache, key)
    if fragment is None:
        fragment = current_app.jinja_env.get_template("dashboard/_figures.html").make_module(
            {"k": data["k"], "benchmark": benchmark} | _snapshot_tables(data) | labels)
        if flt.max_response_id is not None:  # a fixed snapshot (see figures.snapshot_figures)
            figures.remember(cache, key, fragment)
    return fragment


def _record_export(data: dict, what: str) -> None:
    """Exports by staff go to the audit log (a company downloading its own figures is not audited)."""
    if current_user.role in ("admin", "recruiter"):
        record("export", target=data["company"].name, what=what, **data["filter"].as_args())
        db.session.commit()


def _filename(company_name: str, what: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", company_name.lower()).strip("-") or "company"
    return f"{slug}-{what}.csv"


@bp.route("/<int:company_id>/export/aggregate.csv")
@roles_required(*ALL_ROLES)
def export_aggregate(company_id: int):
    """The dashboard's figures as CSV, under the same filter and threshold."""
    data = _dashboard_data(company_id)
    _record_export(data, "figures")
    withheld = "not enough responses yet"
    rows: list[list] = [["overall", "all", "responses", data["responses"], "", ""]]
    if data["enough"]:
        data |= _snapshot_tables(data)
        rows.append(["overall", "all", "nps", data["nps_n"], data["nps"], ""])
        for question in data["questions"]:
            rows.append(["overall", "all", question.key, question.n, question.mean,
                         "" if question.benchmark is None else question.benchmark])
        for dimension in ("by_stage", "by_position", "by_month"):
            for group in data[dimension]:
                name = dimension.removeprefix("by_")
                rows.append([name, group.label, "responses", group.responses, "", ""])
                rows.append([name, group.label, "nps", "", withheld if group.withheld else group.nps, ""])
                rows.append([name, group.label, "score", "", withheld if group.withheld else group.score, ""])
    else:
        rows.append(["overall", "all", "nps", "", withheld, ""])
    return csv_response(_filename(data["company"].name, "aggregate"),
                        ["breakdown", "group", "measure", "n", "value", "benchmark"], rows)


@bp.route("/<int:company_id>/export/comments.csv")
@roles_required(*ALL_ROLES)
def export_comments(company_id: int):
    """The anonymised free-text answers as CSV, random order, only above the threshold."""
    data = _dashboard_data(company_id)
    _record_export(data, "comments")
    comments = figures.comments(data["filter"], limit=None)[0] if data["enough"] else []
    return csv_response(_filename(data["company"].name, "comments"), ["comment"], ([text] for text in comments))
