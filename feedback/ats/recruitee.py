"""Recruitee: not mapped yet (in progress)."""
from __future__ import annotations

from .common import VendorEvent, body_key


def verify(secret: str, body: bytes, headers) -> bool:
    return False


def read(event: dict, body: bytes, headers) -> VendorEvent:
    return VendorEvent("ignore", body_key(body), note="not mapped yet")
