"""Creating logins and checking them."""
from __future__ import annotations

import logging
import secrets
from functools import lru_cache

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import Company, User
from ..models.accounts import new_session_token
from ..names import normalise_address
from ..timeutil import utcnow

log = logging.getLogger(__name__)
MIN_PASSWORD_LENGTH = 10


def _hash(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


@lru_cache(maxsize=2)
def _dummy_hash(method: str) -> str:
    """Checked against when the address is unknown, so a miss costs as much as a wrong password."""
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


class AccountError(ValueError):
    """The account cannot be created as asked; the message says why."""


def create_user(email: str, password: str, role: str, companies: list[Company]) -> User:
    """Add a login. Company users need exactly one company; recruiters one or more. Flushes."""
    try:
        address = normalise_address(email)
    except ValueError as exc:
        raise AccountError(f"{email!r} is not a valid e-mail address") from exc
    if db.session.scalar(sa.select(User.id).where(User.email == address)):
        raise AccountError(f"a login for {address} already exists")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if role == "company" and len(companies) != 1:
        raise AccountError("a company login needs exactly one --company")
    if role == "recruiter" and not companies:
        raise AccountError("a recruiter login needs at least one --company")
    if role == "admin" and companies:
        raise AccountError("an admin sees every company; leave out --company")
    user = User(email=address, role=role, password_hash=_hash(password))
    if role == "company":
        user.company_id = companies[0].id
    if role == "recruiter":
        user.companies = list(companies)
    db.session.add(user)
    db.session.flush()
    log.info("login created for user %s with role %s", user.id, role)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user with this address and password, or None; the same work either way."""
    address = email.strip().lower()
    user = db.session.scalar(sa.select(User).where(User.email == address))
    if user is None:
        check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return None
    if not user.check_password(password):
        return None
    user.last_login_at = utcnow()
    return user


def audited_address(email: str) -> str:
    """What a failed sign-in's audit row names: the login's address, or "unknown address" (an
    address that is no login, an erased person's included, is not stored)."""
    address = email.strip().lower()
    return address if db.session.scalar(sa.select(User.id).where(User.email == address)) else "unknown address"


def end_sessions(user: User) -> None:
    """Invalidate every session cookie issued to the user (logout). Flushes."""
    user.session_token = new_session_token()
    db.session.flush()
