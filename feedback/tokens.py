"""Signed links. One serializer per purpose (its own salt), built per call from app config.

A signature alone is never one-time: the one-time part lives in the database
(``FeedbackRequest.answered_at`` and ``link_issued_at``).
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

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


def address_hash(address: str, key: str | None = None) -> str:
    """A keyed hash of an address: the suppression list never stores the address itself."""
    secret = (key or current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"suppression:" + address.strip().lower().encode(), hashlib.sha256).hexdigest()


def address_hashes(address: str) -> list[str]:
    """The address's hash under the current key and every fallback key (for look-ups)."""
    return [address_hash(address, key) for key in reversed(_signing_keys())]


def unsubscribe_token(address: str) -> str:
    """A token carrying only the address's keyed hash; unsubscribe links never expire."""
    return _serializer(UNSUBSCRIBE_SALT).dumps(address_hash(address))


def read_unsubscribe_token(token: str) -> str | None:
    """The address hash an unsubscribe token carries, or None if it is not ours."""
    try:
        payload = _serializer(UNSUBSCRIBE_SALT).loads(token)
    except (BadData, UnicodeError, ValueError):
        return None
    if not isinstance(payload, str) or len(payload) != 64:
        return None
    return payload


CANDIDATE_VIEW_SALT = "feedback.candidate-view.v1"
CANDIDATE_VIEW_MAX_AGE_DAYS = 7


def candidate_view_token(candidate_id: int) -> str:
    """A read-only link to a candidate's own feedback: reusable until it expires."""
    return _serializer(CANDIDATE_VIEW_SALT).dumps(candidate_id)


def read_candidate_view_token(token: str) -> tuple[int | None, bool]:
    """(candidate id, expired) for a view token; (None, False) when it is not ours."""
    try:
        payload = _serializer(CANDIDATE_VIEW_SALT).loads(token, max_age=CANDIDATE_VIEW_MAX_AGE_DAYS * 86400)
        expired = False
    except SignatureExpired:
        return None, True
    except (BadData, UnicodeError, ValueError):
        return None, False
    if type(payload) is not int or payload <= 0:
        return None, False
    return payload, expired
