"""The audit log of imports, exports, reviews, cancellations and erasures."""
from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request
from flask_babel import format_datetime

from ..access import roles_required
from ..extensions import db
from ..models import AuditEvent
from ..query_args import page_arg
from . import bp

PAGE_SIZE = 100


@bp.context_processor
def formats() -> dict:
    """The audit log's moments as it writes them, "2026-11-05 09:03:07" (UTC, Babel's pattern, not rebased)."""
    return {"utc_second": lambda moment: format_datetime(moment, "yyyy-MM-dd HH:mm:ss", rebase=False)}


@bp.route("/audit")
@roles_required("admin")
def audit():
    """The newest audit events first, filterable by action."""
    page = page_arg(request.args)
    action = request.args.get("action", "").strip()
    query = sa.select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
    events = db.session.scalars(
        query.order_by(AuditEvent.id.desc()).limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    actions = db.session.scalars(sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    return render_template("admin/audit.html", events=events[:PAGE_SIZE], more=len(events) > PAGE_SIZE,
                           page=page, action=action, actions=actions)
