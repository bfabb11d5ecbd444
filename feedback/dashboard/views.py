"""The company dashboard page and its CSV exports, scoped and thresholded alike."""
from __future__ import annotations

import hashlib
import re
from urllib.parse import urlencode

from flask import abort, current_app, render_template, request
from flask_babel import force_locale, get_locale
from flask_login import current_user
from markupsafe import Markup

from ..access import CompanyRef, may_see_company_or_404, roles_required
from ..exports import csv_response, xlsx_response
from ..extensions import cache, db
from ..models import STAGE_LABELS, STAGES
from ..queries import dashboard as figures
from ..queries.figures import snapshot as take_snapshot
from ..queries.filters import ResponseFilter
from ..queries.follow_up import dashboard_follow_up
from ..query_args import month_arg
from ..reports_text import QUESTION_LABELS
from ..services.audit import record
from ..timeutil import today
from . import bp
from .display import labels as display_labels

ALL_ROLES = ("admin", "recruiter", "company")
SHORTFALL_COUNT = 3
COMMENTS_SHOWN = 50  # a random sample on the page; the CSV export holds every comment
# The rendered figures of one snapshot: the page's language, the company, the filter, its cutoff and
# count, the threshold and the platform benchmark shown with them (a digest) are all it depends on.
FOLLOW_UP_KEY = "follow-up/{company_id}/{day}/{sent}/{answered}/{cutoff}/{filtered}/{sla}/{k}"
FOLLOW_UP_SECONDS = 300
FIGURES_KEY = "figures/{locale}/{company_id}/{filter}/{cutoff}/{counted}/{k}/{benchmark}"


def _reversed_range(args) -> tuple[str, str] | None:
    """The months of a from-after-to range, for the page to say so (month_range refuses it)."""
    month_from, month_to = month_arg(args, "from"), month_arg(args, "to")
    return (month_from, month_to) if month_from and month_to and month_from > month_to else None


def _dashboard_data(company_id: int, args=None) -> dict:
    may_see_company_or_404(company_id)
    k = current_app.config["FEEDBACK_MIN_RESPONSES"]
    facts = figures.page_facts(ResponseFilter.from_args(company_id, request.args if args is None else args), k)
    if facts.company_name is None:
        abort(404)
    enough = facts.responses >= k
    data = {
        "company": CompanyRef(company_id, facts.company_name), "filter": facts.filter, "k": k,
        "responses": facts.responses, "total_responses": facts.total, "enough": enough,
        "requests": facts.requests, "company_requests": facts.company_requests,
        "positions": figures.positions(company_id), "from_email": facts.from_email,
        "contact_responses": facts.contact_responses, "facts": facts,
    }
    if enough:
        data["benchmark"] = figures.benchmark_means(company_id, k)
    return data


def _follow_up(data: dict) -> dict:
    """The company's follow-up speed, whatever the filter (by_speed on the company's own snapshot).

    Kept per day, snapshot and count of the company's requests mailed and answered, so that pages
    between two answers run no GROUP BY; a cancelled batch shows within FOLLOW_UP_SECONDS.
    """
    company_id, flt, k = data["company"].id, data["filter"], data["k"]
    sla = current_app.config["FEEDBACK_SLA_DAYS"]
    key = _follow_up_key(data)
    kept = cache.get(key)
    if kept is None:
        snapshot = flt if not flt.is_filtered else take_snapshot(ResponseFilter(company_id=company_id), k)[0]
        kept = dashboard_follow_up(company_id, sla, k, snapshot.max_response_id)
        cache.set(key, kept, timeout=FOLLOW_UP_SECONDS)
    return kept


def _follow_up_key(data: dict) -> str:
    contacts, flt = data["company_requests"]["company"], data["filter"]
    return FOLLOW_UP_KEY.format(company_id=data["company"].id, day=today().isoformat(), sent=contacts["sent"],
                                answered=contacts["completed"], cutoff=flt.max_response_id,
                                filtered=flt.is_filtered, sla=current_app.config["FEEDBACK_SLA_DAYS"], k=data["k"])


def _follow_up_html(data: dict) -> Markup:
    """The follow-up section (dashboard/_follow_up.html) rendered once per language for as long as its
    figures are kept: its words are the same for every page between two answers."""
    key = f"{_follow_up_key(data)}/html/{get_locale()}"
    html = cache.get(key)
    if html is None:
        # Rendered without the request's context, as the figures are: only the company's figures go in.
        html = current_app.jinja_env.get_template("dashboard/_follow_up.html").render(
            follow_up=data["follow_up"], k=data["k"], **display_labels())
        cache.set(key, html, timeout=FOLLOW_UP_SECONDS)
    return Markup(html)


def _snapshot_tables(data: dict, found: dict) -> dict:
    """The snapshot's tables (questions against the benchmark, shortfalls, breakdowns), worked out
    from its figures: for the figures fragment and for the CSV export."""
    benchmark = data["benchmark"]
    questions = figures.with_benchmark(found["questions"], benchmark)
    answered = [q for q in questions if q.mean is not None]
    if benchmark:
        shortfalls = sorted((q for q in answered if q.gap is not None and q.gap < 0), key=lambda q: q.gap)
    else:
        shortfalls = sorted(answered, key=lambda q: q.mean)
    return {
        "nps": found["nps"], "nps_n": found["nps_n"], "questions": questions,
        "shortfalls": shortfalls[:SHORTFALL_COUNT], "by_stage": found["by_stage"],
        "by_position": found["by_position"], "by_month": found["by_month"], "by_language": found["by_language"],
        "decline_reasons": found["decline_reasons"],
    }


def _figures(data: dict) -> dict:
    """The snapshot's NPS and its rendered figures (dashboard/_figures.html), from the cache or
    worked out and rendered once: they are the same for every page of one snapshot, benchmark and language."""
    flt, benchmark = data["filter"], data["benchmark"]
    digest = hashlib.sha256(repr(sorted((benchmark or {}).items())).encode()).hexdigest()[:16]
    # Its text is in the page's language: a German page never gets the English rendering.
    key = FIGURES_KEY.format(locale=str(get_locale()), company_id=flt.company_id,
                             filter=urlencode(sorted(flt.as_args().items())), cutoff=flt.max_response_id,
                             counted=data["responses"], k=data["k"], benchmark=digest)
    kept = cache.get(key)
    if kept is None:
        tables = _snapshot_tables(data, figures.snapshot_figures(flt, data["k"]))
        # Rendered without the request's context: nothing of one visitor goes into what all share.
        html = current_app.jinja_env.get_template("dashboard/_figures.html").render(
            k=data["k"], benchmark=benchmark, **tables, **display_labels())
        kept = {"nps": tables["nps"], "nps_n": tables["nps_n"], "html": html}
        cache.set(key, kept)
    return {"nps": kept["nps"], "nps_n": kept["nps_n"], "figures": Markup(kept["html"])}


@bp.route("/<int:company_id>/dashboard")
@roles_required(*ALL_ROLES)
def company(company_id: int):
    """Where did our process fall short? Figures only for groups that meet the threshold."""
    reversed_range = _reversed_range(request.args)
    if reversed_range:
        # A reversed range is the visitor's mistake, not an empty result: the page says so above
        # the form, still filled in to correct it, and answers 400 as for any other invalid input.
        others = {key: value for key, value in request.args.items() if key not in ("from", "to")}
        data = _dashboard_data(company_id, others)
        data["follow_up"] = _follow_up(data)
        data["follow_up_html"] = _follow_up_html(data)
        data["range_error"], data["enough"] = reversed_range, False
        return render_template("dashboard/company.html", **data, **display_labels(), stages=STAGES), 400
    data = _dashboard_data(company_id)
    data["follow_up"] = _follow_up(data)
    data["follow_up_html"] = _follow_up_html(data)
    data["given"] = figures.feedback_given(data["filter"], data["facts"], data["k"])
    if data["enough"]:
        data |= _figures(data)
        data["platform_nps"] = figures.platform_nps(company_id, data["k"])
        data["comments"], data["comment_count"] = figures.comments(data["filter"], COMMENTS_SHOWN)
    return render_template("dashboard/company.html", **data, **display_labels(), stages=STAGES)


def _record_export(data: dict, what: str) -> None:
    """Exports by staff go to the audit log (a company downloading its own figures is not audited)."""
    if current_user.role in ("admin", "recruiter"):
        record("export", target=data["company"].name, what=what, **data["filter"].as_args())
        db.session.commit()


def _filename(company_name: str, what: str, extension: str = "csv") -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", company_name.lower()).strip("-") or "company"
    return f"{slug}-{what}.{extension}"


AGGREGATE_HEADER = ["breakdown", "group", "measure", "n", "value", "benchmark", "status"]


def _rounded(value: float | None, places: int) -> float | int | str:
    """A figure rounded as the page shows it (NPS whole, means two places); empty when none."""
    if value is None:
        return ""
    return round(value) if places == 0 else round(value, places)


def _aggregate_rows(data: dict) -> list[list]:
    """The export's rows: numbers in the numeric columns, the reason a group is withheld in status."""
    withheld = f"withheld: fewer than {data['k']} responses"
    shown = "shown"
    rows: list[list] = [["overall", "all", "responses", data["responses"], "", "", shown]]
    if not data["enough"]:
        rows.append(["overall", "all", "nps", "", "", "", withheld])
        return rows
    tables = _snapshot_tables(data, figures.snapshot_figures(data["filter"], data["k"]))
    # The NPS row's benchmark is the platform's pooled NPS, when the page shows it (three other companies).
    platform = figures.platform_nps(data["company"].id, data["k"])
    rows.append(["overall", "all", "nps", tables["nps_n"], _rounded(tables["nps"], 0),
                 _rounded(platform[0], 0) if platform else "", shown])
    for question in tables["questions"]:
        rows.append(["overall", "all", QUESTION_LABELS.get(question.key, question.key), question.n,
                     _rounded(question.mean, 2), _rounded(question.benchmark, 2), shown])
    # The export is English whatever the reader's language (tools read it): months as "Dec 2026".
    with force_locale("en"):
        months = {group.label: current_app.jinja_env.filters["month_label"](group.label) for group in tables["by_month"]}
    names = {"by_stage": lambda g: STAGE_LABELS.get(g.label, g.label),
             "by_position": lambda g: g.label, "by_month": lambda g: months[g.label], "by_language": lambda g: g.label}
    for dimension, name_of in names.items():
        for group in tables[dimension]:
            name, status = dimension.removeprefix("by_"), (withheld if group.withheld else shown)
            rows.append([name, name_of(group), "responses", group.responses, "", "", shown])
            rows.append([name, name_of(group), "nps", "", _rounded(group.nps, 0), "", status])
            rows.append([name, name_of(group), "score", "", _rounded(group.score, 2), "", status])
    return rows


@bp.route("/<int:company_id>/export/aggregate.csv")
@roles_required(*ALL_ROLES)
def export_aggregate(company_id: int):
    """The dashboard's figures as CSV, under the same filter and threshold."""
    data = _dashboard_data(company_id)
    _record_export(data, "figures")
    return csv_response(_filename(data["company"].name, "aggregate"), AGGREGATE_HEADER, _aggregate_rows(data))


@bp.route("/<int:company_id>/export/aggregate.xlsx")
@roles_required(*ALL_ROLES)
def export_aggregate_xlsx(company_id: int):
    """The dashboard's figures as an XLSX workbook: the same rows as the CSV, numbers as numbers."""
    data = _dashboard_data(company_id)
    _record_export(data, "figures")
    return xlsx_response(_filename(data["company"].name, "aggregate", "xlsx"), AGGREGATE_HEADER,
                         _aggregate_rows(data))


@bp.route("/<int:company_id>/export/comments.csv")
@roles_required(*ALL_ROLES)
def export_comments(company_id: int):
    """The anonymised free-text answers as CSV, random order, only above the threshold."""
    data = _dashboard_data(company_id)
    _record_export(data, "comments")
    comments = figures.comments(data["filter"])[0] if data["enough"] else []
    return csv_response(_filename(data["company"].name, "comments"), ["comment"], ([text] for text in comments))


@bp.route("/<int:company_id>/export/comments.xlsx")
@roles_required(*ALL_ROLES)
def export_comments_xlsx(company_id: int):
    """The anonymised free-text answers as XLSX, guarded against formulas like the CSV."""
    data = _dashboard_data(company_id)
    _record_export(data, "comments")
    comments = figures.comments(data["filter"])[0] if data["enough"] else []
    return xlsx_response(_filename(data["company"].name, "comments", "xlsx"), ["comment"],
                         ([text] for text in comments))
