"""The suppression list: addresses that asked never to be mailed again (kept as keyed hashes)."""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from ..extensions import db
from ..models import Suppression
from ..tokens import address_hash, legacy_address_hashes


def suppressed_addresses(addresses: Iterable[str]) -> set[str]:
    """Those of ``addresses`` that are on the suppression list.

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
    if not by_hash:
        return set()
    found: dict[str, str] = {}
    digests = list(by_hash)
    for start in range(0, len(digests), 500):
        chunk = digests[start:start + 500]
        found.update(db.session.execute(sa.select(Suppression.address_hash, Suppression.reason)
                                        .where(Suppression.address_hash.in_(chunk))).all())
    suppressed = {by_hash[digest] for digest in found}
    for address in suppressed:
        if current[address] not in found:
            reason = next(found[digest] for digest in found if by_hash[digest] == address)
            suppress_address_hash(current[address], reason)
    return suppressed


def is_suppressed(address: str) -> bool:
    """True when ``address`` must not be mailed."""
    return bool(suppressed_addresses([address]))


def suppress_address_hash(digest: str, reason: str = "unsubscribed") -> bool:
    """Put a hashed address on the list (idempotent); True if it was new."""
    exists = db.session.scalar(sa.select(Suppression.id).where(Suppression.address_hash == digest))
    if exists:
        return False
    db.session.add(Suppression(address_hash=digest, reason=reason))
    db.session.flush()
    return True


def suppress_address(address: str, reason: str = "unsubscribed") -> bool:
    """Put an address on the list by its hash under the address key (idempotent); True if it was new. Flushes."""
    return suppress_address_hash(address_hash(address), reason)
