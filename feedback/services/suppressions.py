"""The suppression list: addresses that asked never to be mailed again (kept as keyed hashes)."""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from ..extensions import db
from ..models import Suppression
from ..tokens import address_hash, address_hashes


def suppressed_addresses(addresses: Iterable[str]) -> set[str]:
    """Those of ``addresses`` that are on the suppression list (under any current or old key)."""
    by_hash: dict[str, str] = {}
    for address in set(addresses):
        for digest in address_hashes(address):
            by_hash[digest] = address
    if not by_hash:
        return set()
    found: set[str] = set()
    digests = list(by_hash)
    for start in range(0, len(digests), 500):
        chunk = digests[start:start + 500]
        found.update(db.session.scalars(sa.select(Suppression.address_hash).where(Suppression.address_hash.in_(chunk))))
    return {by_hash[digest] for digest in found}


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
    """Put an address on the list by its keyed hash (idempotent); True if it was new. Flushes."""
    return suppress_address_hash(address_hash(address), reason)
