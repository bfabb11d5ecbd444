"""Secrets the service must be able to read back (an ATS's HMAC key, an outgoing webhook's key, a
Lever API key), encrypted at rest with Fernet (the ``cryptography`` package: AES-128-CBC with an
HMAC-SHA256 tag) under keys derived from SECRET_KEY by HKDF-SHA256.

Rotation: the current SECRET_KEY encrypts; it and every key of SECRET_KEY_FALLBACKS decrypt
(MultiFernet), so a connector's secret survives a rotation, and :func:`rotate` re-encrypts under
the new key. A hash would not do: an HMAC check needs the secret itself.
"""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

PREFIX = "fernet:"
INFO = b"feedback stored secrets v1"


class SecretUnreadable(ValueError):
    """A stored secret that no current or fallback key opens (SECRET_KEY changed without a fallback)."""


def _fernet(key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _box() -> MultiFernet:
    keys = [current_app.config["SECRET_KEY"], *current_app.config.get("SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet(key) for key in keys])


def seal(secret: str) -> str:
    """The stored form of ``secret``."""
    return PREFIX + _box().encrypt(secret.encode()).decode("ascii")


def open_sealed(stored: str) -> str:
    """The secret of a stored value (a value without the prefix is a secret stored before encryption)."""
    if not stored.startswith(PREFIX):
        return stored
    try:
        return _box().decrypt(stored[len(PREFIX):].encode("ascii")).decode()
    except InvalidToken:
        raise SecretUnreadable("a stored secret cannot be read with SECRET_KEY or SECRET_KEY_FALLBACKS") from None


def rotate(stored: str) -> str:
    """The stored value re-encrypted under the current SECRET_KEY."""
    return seal(open_sealed(stored))
