"""Who may see what: every tenant-scoped read goes through here.

Admins see every company, recruiters the companies assigned to them, company users their own.
Another tenant's object answers 404 (its existence is not confirmed); a route the role may not
use at all answers 403.
"""
from __future__ import annotations

from functools import wraps
from typing import NamedTuple

import sqlalchemy as sa
from flask import abort
from flask_login import current_user, login_required

from .extensions import db, login_manager
from .models import Company, ImportBatch, User, recruiter_companies
from .models.outcomes import Application
from .names import fold


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session cookie names ``id:session_token``; a token changed at logout ends the session."""
    id_part, _, token = user_id.partition(":")
    if not id_part.isdigit() or not token:
        return None
    user = db.session.get(User, int(id_part))
    return user if user is not None and user.session_token == token else None


def roles_required(*roles: str):
    """Sign-in required (redirect to /login), and one of ``roles`` (else 403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def visible_company_ids(user: User) -> sa.Select | None:
    """A SELECT of the company ids ``user`` may see, or None for an admin (every company)."""
    if user.role == "admin":
        return None
    if user.role == "recruiter":
        return sa.select(recruiter_companies.c.company_id).where(recruiter_companies.c.user_id == user.id)
    return sa.select(sa.literal(user.company_id))


def scope_to_companies(query: sa.Select, column, user: User) -> sa.Select:
    """Restrict ``query`` to rows whose ``column`` (a company id) ``user`` may see."""
    ids = visible_company_ids(user)
    return query if ids is None else query.where(column.in_(ids))


def visible_companies(user: User) -> list[Company]:
    """The companies ``user`` may see, by name."""
    return list(db.session.scalars(scope_to_companies(sa.select(Company), Company.id, user).order_by(Company.name)))


def importable_company_names(user: User) -> set[str] | None:
    """Folded names of the companies ``user`` may import outcomes for; None for an admin (any, new too)."""
    if user.role == "admin":
        return None
    return {fold(company.name) for company in visible_companies(user)}


def company_or_404(company_id: int) -> Company:
    """The company, if the signed-in user may see it; 404 otherwise."""
    query = scope_to_companies(sa.select(Company).where(Company.id == company_id), Company.id, current_user)
    company = db.session.scalar(query)
    if company is None:
        abort(404)
    return company


class CompanyRef(NamedTuple):
    id: int
    name: str


_ASSIGNED = sa.select(recruiter_companies.c.company_id).where(
    recruiter_companies.c.user_id == sa.bindparam("user_id"), recruiter_companies.c.company_id == sa.bindparam("company_id"))


def may_see_company_or_404(company_id: int) -> None:
    """The scoping of visible_company_ids for one company, for pages that read the company with
    the rest of their data (the dashboard): admins see any company and company users their own,
    decided by the role alone; recruiters their assigned companies, in one prebuilt query. Whether
    the company exists is the caller's to check, with the same 404."""
    user = current_user
    if user.role == "admin" or (user.role == "company" and user.company_id == company_id):
        return
    if user.role == "recruiter" and db.session.connection().execute(
            _ASSIGNED, {"company_id": company_id, "user_id": user.id}).first() is not None:
        return
    abort(404)


def batch_or_404(batch_id: int) -> ImportBatch:
    """An import batch the signed-in recruiter or admin may see: theirs, or one about their companies."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        abort(404)
    if current_user.role == "admin" or batch.created_by_id == current_user.id:
        return batch
    ids = visible_company_ids(current_user)
    outside = db.session.scalar(
        sa.select(sa.func.count()).select_from(Application)
        .where(Application.import_batch_id == batch.id, Application.company_id.not_in(ids))
    )
    inside = db.session.scalar(
        sa.select(sa.func.count()).select_from(Application)
        .where(Application.import_batch_id == batch.id, Application.company_id.in_(ids))
    )
    if outside or not inside:
        abort(404)
    return batch
