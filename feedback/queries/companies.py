"""Finding companies."""
from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import Company
from ..names import fold


def company_by_name(name: str) -> Company | None:
    """The company whose name matches ``name`` regardless of case and spacing."""
    wanted = fold(name)
    for company in db.session.scalars(sa.select(Company).where(sa.func.lower(Company.name) == wanted.lower())):
        return company
    # Names with characters whose case folding SQL lower() does not know: compare in Python.
    return next((c for c in db.session.scalars(sa.select(Company)) if fold(c.name) == wanted), None)


def company_names() -> list[str]:
    """Every company's name, sorted."""
    return list(db.session.scalars(sa.select(Company.name).order_by(Company.name)))
