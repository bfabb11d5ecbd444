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
    """The scope of each of ``addresses`` that is on the list (the others are left out)."""
    return {address: scope for address, (_reason, scope) in suppressions_of(addresses).items()}


def suppressions_of(addresses: Iterable[str]) -> dict[str, tuple[str, str]]:
    """The (reason, scope) of each of ``addresses`` that is on the list (the others are left out).

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
    entries: dict[str, tuple[str, str]] = {}
    for digest, (reason, scope) in list(found.items()):
        address = by_hash[digest]
        known = entries.get(address)
        # "unsubscribed" outranks "bounced": the person's own choice is what a retry must respect.
        reasons = {reason, known[0]} if known else {reason}
        entries[address] = ("unsubscribed" if "unsubscribed" in reasons else reason,
                            "all" if known and "all" in (scope, known[1]) else scope)
        if current[address] not in found:
            suppress_address_hash(current[address], reason, scope)
            found[current[address]] = (reason, scope)
    return entries


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
    unsubscribe holds) or its reason to an unsubscribe; True if anything changed. Flushes."""
    existing = db.session.scalar(sa.select(Suppression).where(Suppression.address_hash == digest))
    if existing is None:
        db.session.add(Suppression(address_hash=digest, reason=reason, scope=scope))
    elif (scope == "all" and existing.scope != "all") or (reason == "unsubscribed" and existing.reason != reason):
        # An unsubscribe after a bounce is recorded as one: it holds even if the bounce is lifted.
        existing.scope = "all" if "all" in (scope, existing.scope) else existing.scope
        existing.reason = "unsubscribed" if "unsubscribed" in (reason, existing.reason) else existing.reason
    else:
        return False
    db.session.flush()
    return True


def suppress_address(address: str, reason: str = "unsubscribed", scope: str = "all") -> bool:
    """Put an address on the list by its hash under the address key (see suppress_address_hash)."""
    return suppress_address_hash(address_hash(address), reason, scope)


def lift_bounce(address: str) -> int:
    """Take ``address`` off the list where it is only because the server refused it ("bounced"), never
    where its owner unsubscribed; how many entries went. Flushes."""
    digests = [address_hash(address), *legacy_address_hashes(address)]
    lifted = db.session.execute(sa.delete(Suppression).where(Suppression.address_hash.in_(digests),
                                                             Suppression.reason == "bounced")).rowcount
    db.session.flush()
    return lifted
