"""API v1: outcomes in, requests and reports out; scoped like the key's user."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import abort, current_app, jsonify, request
from flask_login import current_user

from ..access import company_or_404, importable_company_names, scope_to_companies, visible_companies
from ..extensions import db
from ..models import Application, Company, FeedbackRequest, OutboxMessage, Position
from ..queries.figures import snapshot
from ..queries.filters import ResponseFilter
from ..queries.reports import company_report
from ..query_args import int_arg, page_arg
from ..services.audit import record
from ..services.imports import import_outcomes
from ..services.outcomes_csv import restrict_to_companies
from ..timeutil import utcnow
from ..transactions import commit_racing
from . import bp
from .auth import key_required
from .openapi import openapi_document
from .outcomes import check_items, problem_json, records_from_json

REQUEST_STATUSES = ("queued", "sent", "answered", "expired", "failed", "cancelled")
MAX_PER_PAGE = 200


@bp.route("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(openapi_document())


@bp.route("/companies")
@key_required
def companies():
    """The companies the key may see."""
    return jsonify({"items": [{"id": c.id, "name": c.name} for c in visible_companies(current_user)]})


@bp.route("/outcomes", methods=["POST"])
@key_required
def create_outcomes():
    """One outcome or a list: validated like the CSV; nothing written if any is invalid (unless skip_invalid)."""
    if current_user.role not in ("admin", "recruiter"):
        abort(403, "Only admin and recruiter keys can send outcomes.")
    payload = request.get_json(silent=True)
    if payload is None:
        abort(400, "The body must be JSON: one outcome, a list, or {\"outcomes\": [...], \"skip_invalid\": true}.")
    items, skip_invalid, errors = records_from_json(payload)
    if items is None:
        return jsonify({"errors": errors}), 422
    allowed = importable_company_names(current_user)
    rows, problems = [], []
    for row, row_problems in restrict_to_companies(check_items(items), allowed):
        if row is not None:
            rows.append(row)
        problems.extend(row_problems)
    errors = [problem_json(p) for p in problems]
    if errors and (not skip_invalid or not rows):
        return jsonify({"errors": errors}), 422

    def store():
        summary = import_outcomes(iter(rows), source="api")
        record("import", target=f"batch {summary.batch_id}", source="api",
               applications=summary.applications_created, requests=summary.requests_queued)
        return summary

    summary = commit_racing(store)
    return jsonify({
        "batch_id": summary.batch_id,
        "received": len(items),
        "created": summary.applications_created,
        "requests_queued": summary.requests_queued,
        "already_known": summary.rows_known,
        "skipped": errors,
    }), 201


def _status_expression():
    max_age = timedelta(days=current_app.config["FEEDBACK_LINK_MAX_AGE_DAYS"])
    failed = sa.exists().where(OutboxMessage.request_id == FeedbackRequest.id, OutboxMessage.status == "failed")
    return sa.case(
        (FeedbackRequest.answered_at.is_not(None), "answered"),
        (FeedbackRequest.cancelled_at.is_not(None), "cancelled"),
        (sa.and_(FeedbackRequest.first_sent_at.is_(None), failed), "failed"),
        (FeedbackRequest.link_issued_at < utcnow() - max_age, "expired"),
        (FeedbackRequest.first_sent_at.is_not(None), "sent"),
        else_="queued",
    )


@bp.route("/requests")
@key_required
def list_requests():
    """Feedback requests with their status, newest first, paginated; ?status= filters.

    Staff only, like the recruiter workspace: who answered is never shown to the company the
    candidates rated (its figures are anonymous; see queries.figures.snapshot).
    """
    if current_user.role not in ("admin", "recruiter"):
        abort(403, "Only admin and recruiter keys can list feedback requests.")
    status = request.args.get("status")
    if status is not None and status not in REQUEST_STATUSES:
        abort(400, f"status must be one of {', '.join(REQUEST_STATUSES)}.")
    page = page_arg(request.args, empty_ok=False)
    per_page = int_arg(request.args, "per_page", 50, 1, MAX_PER_PAGE, empty_ok=False)
    status_expr = _status_expression().label("status")
    query = scope_to_companies(
        sa.select(FeedbackRequest, Application.application_ref, Company.name, Position.title, Application.stage,
                  Application.outcome, status_expr)
        .join(Application, Application.id == FeedbackRequest.application_id)
        .join(Company, Company.id == Application.company_id)
        .join(Position, Position.id == Application.position_id),
        Application.company_id, current_user,
    )
    if status:
        query = query.where(status_expr == status)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.execute(
        query.order_by(FeedbackRequest.id.desc()).limit(per_page).offset((page - 1) * per_page)).all()
    items = [{
        "id": fr.id,
        "audience": fr.audience,
        "status": row_status,
        "company": company,
        "position": position,
        "stage": stage,
        "outcome": outcome,
        "application_ref": ref,
        "recipient_email": fr.recipient_email,
        "created_at": fr.created_at.isoformat(),
        "first_sent_at": fr.first_sent_at.isoformat() if fr.first_sent_at else None,
        "answered_at": fr.answered_at.isoformat() if fr.answered_at else None,
    } for fr, ref, company, position, stage, outcome, row_status in rows]
    return jsonify({"items": items, "page": page, "per_page": per_page, "total": total})


# Ids past a 32-bit INTEGER column are no company (and would overflow the database driver): 404.
@bp.route("/companies/<int(max=2147483647):company_id>/report")
@key_required
def report(company_id: int):
    """The company's aggregate, as `feedback report --format json`, frozen between threshold steps."""
    company = company_or_404(company_id)
    k = current_app.config["FEEDBACK_MIN_RESPONSES"]
    counted, _responses, _total = snapshot(ResponseFilter(company_id=company.id), k)
    return jsonify(company_report(company, k, upto=counted.max_response_id))
