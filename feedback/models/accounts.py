"""Logins: admins, recruiters (with the companies assigned to them) and company users."""
from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash

from ..extensions import db
from ..timeutil import utcnow
from .base import UTCDateTime
from .outcomes import Company

ROLES = ("admin", "recruiter", "company")

recruiter_companies = sa.Table(
    "recruiter_companies",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("company_id", sa.ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True),
)


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint("role IN ('admin', 'recruiter', 'company')", name="role"),
        sa.CheckConstraint("role <> 'company' OR company_id IS NOT NULL", name="company_user_has_company"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(300))
    role: Mapped[str] = mapped_column(sa.String(20))
    company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    # Part of the session cookie's user id: changing it (at logout) ends every old session.
    session_token: Mapped[str] = mapped_column(sa.String(64), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The language chosen with the page's switch, kept with the login (else the browser's).
    locale: Mapped[str | None] = mapped_column(sa.String(16))

    company: Mapped[Company | None] = relationship()
    companies: Mapped[list[Company]] = relationship(secondary=recruiter_companies, order_by="Company.name")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
