"""Native ATS connectors, the pure part (CONTRACT §8): each vendor's signature check over the raw
bytes and the mapping of its event to one :class:`VendorEvent`, an outcomes row in the same
columns as the CSV and the API, so that one validation path (services/outcomes_csv.py) and one
import take them all. Nothing here touches the database or the request: the intake
(api/hooks.py) verifies, de-duplicates, validates and imports.

A vendor module has ``verify(secret, body, headers) -> bool`` and ``read(event, body, headers) ->
VendorEvent``; ``event`` is the parsed JSON object of ``body``.
"""
from __future__ import annotations

from types import ModuleType

from . import ashby, greenhouse, lever, recruitee, workable
from .common import ACTIONS, VendorEvent

VENDORS: dict[str, ModuleType] = {
    "greenhouse": greenhouse, "ashby": ashby, "lever": lever, "recruitee": recruitee, "workable": workable,
}

__all__ = ["ACTIONS", "VENDORS", "VendorEvent"]
