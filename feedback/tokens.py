"""Signed links. One serializer per purpose (its own salt), built per call from app config.

A signature alone is never one-time: the one-time part lives in the database
(``FeedbackRequest.answered_at`` and ``link_issued_at``).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from .extensions import db
from .models import AppKey

FEEDBACK_LINK_SALT = "feedback.link.v1"
UNSUBSCRIBE_SALT = "feedback.unsubscribe.v1"


def _signing_keys() -> list[str]:
    """Old keys first, current key last: itsdangerous signs with the last and verifies with all."""
    return [*current_app.config.get("SECRET_KEY_FALLBACKS", []), current_app.config["SECRET_KEY"]]


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_signing_keys(), salt=salt)


def public_url(path: str) -> str:
    """An absolute link for an e-mail, always from PUBLIC_BASE_URL, never from a request's Host."""
    return current_app.config["PUBLIC_BASE_URL"] + path


@dataclass(frozen=True)
class LinkCheck:
    """What a feedback token says: which request, when it was signed, and whether it expired."""

    request_id: int
    signed_at: datetime
    expired: bool


def feedback_link_token(request_id: int) -> str:
    """A token naming only the request's id, signed now with the current key."""
    return _serializer(FEEDBACK_LINK_SALT).dumps(request_id)


def read_feedback_link_token(token: str) -> LinkCheck | None:
    """The request a token names, or None if it is malformed or tampered with."""
    max_age = current_app.config["FEEDBACK_LINK_MAX_AGE_DAYS"] * 86400
    serializer = _serializer(FEEDBACK_LINK_SALT)
    try:
        payload, signed_at = serializer.loads(token, max_age=max_age, return_timestamp=True)
        expired = False
    except SignatureExpired as exc:
        # The exception carries the payload still serialized: decode it like loads() would.
        try:
            payload = serializer.load_payload(exc.payload)
        except (BadData, UnicodeError, ValueError):
            return None
        signed_at, expired = exc.date_signed, True
    except (BadData, UnicodeError, ValueError):
        return None
    if type(payload) is not int or payload <= 0 or signed_at is None:
        return None
    if signed_at.tzinfo is None:
        signed_at = signed_at.replace(tzinfo=UTC)
    return LinkCheck(request_id=payload, signed_at=signed_at, expired=expired)


ADDRESS_KEY = "address"
VERIFIER_PREFIX = "unsubscribe-verifier:"


def _app_keys() -> dict[str, str]:
    """The service's own keys (models.AppKey), read once per app. The migration makes them; a database
    made otherwise gets its address key on first use, in a transaction of its own (never rolled back
    with the caller's work, so no hash is ever made under a key that then vanishes)."""
    keys = current_app.extensions.get("feedback.app_keys")
    if keys is None:
        keys = dict(db.session.execute(sa.select(AppKey.name, AppKey.value)).all())
        if ADDRESS_KEY not in keys:
            try:
                with db.engine.begin() as connection:
                    connection.execute(sa.insert(AppKey).values(name=ADDRESS_KEY, value=secrets.token_hex(32)))
            except IntegrityError:  # another process made it first
                pass
            keys = dict(db.session.execute(sa.select(AppKey.name, AppKey.value)).all())
        current_app.extensions["feedback.app_keys"] = keys
    return keys


def address_hash(address: str) -> str:
    """The hash the suppression list keeps of an address (never the address itself), under the
    service's address key, which no rotation of SECRET_KEY changes."""
    key = _app_keys()[ADDRESS_KEY].encode()
    return hmac.new(key, b"suppression:" + address.strip().lower().encode(), hashlib.sha256).hexdigest()


def legacy_address_hashes(address: str) -> list[str]:
    """The address's hash as releases before the address key made it: under SECRET_KEY and each
    fallback key (suppressions stored then, and not yet moved to the address key, are found so)."""
    normalised = b"suppression:" + address.strip().lower().encode()
    return [hmac.new(key.encode(), normalised, hashlib.sha256).hexdigest() for key in reversed(_signing_keys())]


def _unsubscribe_mac(digest: str) -> str:
    key = _app_keys()[ADDRESS_KEY].encode()
    return hmac.new(key, b"unsubscribe:" + digest.encode(), hashlib.sha256).hexdigest()[:32]


def unsubscribe_token(address: str) -> str:
    """``<address hash>.<mac>``, both under the address key: it names no address, never expires and
    stays valid whatever happens to SECRET_KEY."""
    digest = address_hash(address)
    return f"{digest}.{_unsubscribe_mac(digest)}"


def unsubscribe_verifier(key: str) -> str:
    """What verifies the unsubscribe links SECRET_KEY ``key`` signed: itsdangerous's derived key for the
    unsubscribe salt (it signs nothing else: no session, no feedback link)."""
    return URLSafeTimedSerializer(key, salt=UNSUBSCRIBE_SALT).make_signer(UNSUBSCRIBE_SALT).derive_key().hex()


def _read_signed_unsubscribe_token(token: str) -> tuple[object, bool] | None:
    """(payload, retired) of an unsubscribe link from before the address key: signed with a key of
    SECRET_KEY and its fallbacks, or with a key since retired (kept as its verifier); else None."""
    configured = [URLSafeTimedSerializer(key, salt=UNSUBSCRIBE_SALT).make_signer(UNSUBSCRIBE_SALT).derive_key()
                  for key in _signing_keys()]
    kept = [bytes.fromhex(value) for name, value in _app_keys().items() if name.startswith(VERIFIER_PREFIX)]
    for keys, retired in ((configured, False), ([key for key in kept if key not in configured], True)):
        if not keys:
            continue
        serializer = URLSafeTimedSerializer(keys, salt=UNSUBSCRIBE_SALT, signer_kwargs={"key_derivation": "none"})
        try:
            return serializer.loads(token), retired
        except (BadData, UnicodeError, ValueError):
            continue
    return None


def read_unsubscribe_token(token: str) -> tuple[str, bool] | None:
    """(address hash, retired) for an unsubscribe token of ours, else None. ``retired``: the link was
    signed with a SECRET_KEY no longer configured, so its hash (made under that key) matches nothing."""
    digest, _, mac = token.partition(".")
    if _HEX64.fullmatch(digest) and hmac.compare_digest(mac, _unsubscribe_mac(digest)):
        return digest, False
    found = _read_signed_unsubscribe_token(token)
    if found is None or not isinstance(found[0], str) or not _HEX64.fullmatch(found[0]):
        return None
    return found


_HEX64 = re.compile(r"[0-9a-f]{64}")


CONTACT_SALT = "feedback.contact.v1"


def contact_token(request_id: int) -> str:
    """A company contact's page of all their candidates (/c/<token>): it names one of their requests,
    and the page shows the requests sent to the same address; signed now with the current key."""
    return _serializer(CONTACT_SALT).dumps(request_id)


def read_contact_token(token: str) -> tuple[int | None, bool]:
    """(request id, expired) for a contact token; (None, False) when it is not ours. It lives as long
    as a feedback link (FEEDBACK_LINK_MAX_AGE_DAYS)."""
    return _read_id_token(CONTACT_SALT, token, current_app.config["FEEDBACK_LINK_MAX_AGE_DAYS"] * 86400)


def _read_id_token(salt: str, token: str, max_age: int) -> tuple[int | None, bool]:
    """(the positive id a token of ``salt`` signs, expired): (None, True) when it is too old, (None, False)
    when it is not ours or signs anything but a positive id."""
    try:
        payload = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        return None, True
    except (BadData, UnicodeError, ValueError):
        return None, False
    if type(payload) is not int or payload <= 0:
        return None, False
    return payload, False


CANDIDATE_VIEW_SALT = "feedback.candidate-view.v1"
CANDIDATE_VIEW_MAX_AGE_DAYS = 7


def candidate_view_token(candidate_id: int) -> str:
    """A read-only link to a candidate's own feedback: reusable until it expires."""
    return _serializer(CANDIDATE_VIEW_SALT).dumps(candidate_id)


def read_candidate_view_token(token: str) -> tuple[int | None, bool]:
    """(candidate id, expired) for a view token; (None, False) when it is not ours."""
    return _read_id_token(CANDIDATE_VIEW_SALT, token, CANDIDATE_VIEW_MAX_AGE_DAYS * 86400)
