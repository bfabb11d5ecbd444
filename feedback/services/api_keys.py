"""API keys: created for a user, shown once, stored as a hash, revocable."""
from __future__ import annotations

import hashlib
import logging
import secrets

import sqlalchemy as sa

from ..extensions import db
from ..models import ApiKey, User
from ..timeutil import utcnow

log = logging.getLogger(__name__)
KEY_PREFIX = "fbk_"
SHOWN_PREFIX_LENGTH = 12


def _hash(key: str) -> str:
    # Keys are 256 random bits: a plain SHA-256 cannot be brute-forced, and look-ups stay one index hit.
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(user: User) -> tuple[str, ApiKey]:
    """A new key for ``user``: returns the key (to show once) and its stored record. Flushes."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(user_id=user.id, prefix=key[:SHOWN_PREFIX_LENGTH], key_hash=_hash(key))
    db.session.add(record)
    db.session.flush()
    log.info("API key %s created for user %s", record.prefix, user.id)
    return key, record


def user_for_api_key(key: str) -> User | None:
    """The user a live key acts for, or None for an unknown or revoked key."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    record = db.session.scalar(sa.select(ApiKey).where(ApiKey.key_hash == _hash(key), ApiKey.revoked_at.is_(None)))
    if record is None:
        return None
    record.last_used_at = utcnow()
    return record.user


def revoke_api_key(prefix: str) -> int:
    """Revoke the live keys whose shown prefix is ``prefix``; returns how many. Flushes."""
    count = db.session.execute(
        sa.update(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.flush()
    return count
