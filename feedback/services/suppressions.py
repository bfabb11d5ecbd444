"""The suppression list: addresses that asked to stop our mail (kept as keyed hashes).

A suppression's scope (CONTRACT §5): ``all`` stops requests and notices, ``requests`` only the
surveys and their reminders. A view link asked for on /me is never suppressed: the person asked.
"""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from ..extensions import db
from ..models import NOTICE_KINDS, REQUEST_KINDS, Suppression
from ..tokens import address_hash, legacy_address_hashes


def suppression_scopes(addresses: Iterable[str]) -> dict[str, str]:
    """The scope of each of ``addresses`` that is on the list (the others are left out).

    Found by the address key's hash, or by a hash from before it (under SECRET_KEY or a fallback);
    one found so is put on the list under the address key too (flushed with the caller's work), so
    it stays found once that key is retired.
    """
    by_hash: dict[str, str] = {}
    current: dict[str, str] = {}
    for address in set(addresses):
        current[address] = address_hash(address)
        for digest in (current[address], *legacy_address_hashes(address)):
            by_hash[digest] = address
    found: dict[str, tuple[str, str]] = {}
    digests = list(by_hash)
    for start in range(0, len(digests), 500):
        chunk = digests[start:start + 500]
        for digest, reason, scope in db.session.execute(
                sa.select(Suppression.address_hash, Suppression.reason, Suppression.scope)
                .where(Suppression.address_hash.in_(chunk))):
            found[digest] = (reason, scope)
    scopes: dict[str, str] = {}
    for digest, (reason, scope) in list(found.items()):
        address = by_hash[digest]
        scopes[address] = "all" if "all" in (scope, scopes.get(address)) else scope
        if current[address] not in found:
            suppress_address_hash(current[address], reason, scope)
            found[current[address]] = (reason, scope)
    return scopes


def suppressed_addresses(addresses: Iterable[str], kind: str = "invitation") -> set[str]:
    """Those of ``addresses`` that must not get mail of ``kind`` (requests by default)."""
    if kind not in REQUEST_KINDS + NOTICE_KINDS:
        return set()
    scopes = suppression_scopes(addresses)
    return {address for address, scope in scopes.items() if scope == "all" or kind in REQUEST_KINDS}


def is_suppressed(address: str, kind: str = "invitation") -> bool:
    """True when ``address`` must not get mail of ``kind``."""
    return bool(suppressed_addresses([address], kind))


def suppress_address_hash(digest: str, reason: str = "unsubscribed", scope: str = "all") -> bool:
    """Put a hashed address on the list, or widen its scope to ``all`` (never narrow it: an
    unsubscribe holds); True if anything changed. Flushes."""
    existing = db.session.scalar(sa.select(Suppression).where(Suppression.address_hash == digest))
    if existing is None:
        db.session.add(Suppression(address_hash=digest, reason=reason, scope=scope))
    elif scope == "all" and existing.scope != "all":
        existing.scope = "all"
    else:
        return False
    db.session.flush()
    return True


def suppress_address(address: str, reason: str = "unsubscribed", scope: str = "all") -> bool:
    """Put an address on the list by its hash under the address key (see suppress_address_hash)."""
    return suppress_address_hash(address_hash(address), reason, scope)
