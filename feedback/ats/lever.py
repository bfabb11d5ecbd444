"""Lever: ``candidateArchiveChange`` webhooks, a notification only, completed from Lever's API.

Lever signs no body: each delivery carries ``token``, ``triggeredAt`` (Unix milliseconds) and
``signature`` = hex HMAC-SHA256 of ``token + triggeredAt`` under the webhook's signature token (the
connector's secret). ``data`` holds ids only, and is not covered by the signature, so nothing in it is
trusted: the worker (jobs/connector_sync.py) reads the opportunity, its posting and its archive reason
from Lever's API, and imports only what the API says is archived. The event key is a hash of the signed
pair, so a body altered around a captured signature is the same event as the one it was captured from.

No age limit on ``triggeredAt``: Lever documents none and retries failed deliveries (with the same
token and time), and a replay is already harmless (it is the same event key, and the API is the truth).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime

from .common import (
    VendorEvent,
    body_key,
    dig,
    hmac_hex,
    join_names,
    outcome_row,
    person_locale,
    same_hex,
    stage_of,
    text,
)

# Lever's default pipeline stages (by their names, lower case); custom stages go by their words.
STAGES = {
    "new lead": "application", "reached out": "application", "responded": "application",
    "new applicant": "application", "recruiter screen": "screen", "phone screen": "screen",
    "on-site interview": "final", "onsite interview": "final", "offer": "offer",
}
# Lever's fixed stage ids, for an opportunity read without ``expand=stage``.
STAGE_IDS = {"lead-new": "application", "lead-reached-out": "application", "lead-responded": "application",
             "applicant-new": "application", "offer": "offer"}


def _signed_pair(event: object) -> tuple[str, str] | None:
    """``(token, str(triggeredAt))`` of a delivery, or None when either is missing or odd."""
    if not isinstance(event, dict):
        return None
    token, triggered = event.get("token"), event.get("triggeredAt")
    if not isinstance(token, str) or not token or isinstance(triggered, bool) or not isinstance(triggered, (int, str)):
        return None
    return token, str(triggered)


def verify(secret: str, body: bytes, headers) -> bool:
    """The body's ``signature`` against HMAC-SHA256(secret, token + triggeredAt), in constant time."""
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    pair = _signed_pair(event)
    signature = event.get("signature") if isinstance(event, dict) else None
    if pair is None or not isinstance(signature, str):
        return False
    return same_hex(signature, hmac_hex(secret, "".join(pair).encode()))


def event_key(event: dict, body: bytes) -> str:
    pair = _signed_pair(event)
    if pair is None:
        return body_key(body)
    return "lever:" + hashlib.sha256("".join(pair).encode()).hexdigest()


def read(event: dict, body: bytes, headers) -> VendorEvent:
    """An archive: "enrich" (the worker reads the rest); an un-archive: "cancel"; anything else: ignored."""
    key = event_key(event, body)
    if event.get("event") != "candidateArchiveChange":
        return VendorEvent("ignore", key, note=f"event {text(event.get('event')) or 'without a name'} is no outcome")
    opportunity_id = text(dig(event, "data", "opportunityId"))
    if opportunity_id is None:
        return VendorEvent("ignore", key, note="the event names no opportunity")
    to_archived = dig(event, "data", "toArchived")
    if isinstance(to_archived, dict):
        detail = {"opportunity_id": opportunity_id, "archived_at": to_archived.get("archivedAt"),
                  "reason_id": text(to_archived.get("reason"))}
        return VendorEvent("enrich", key, application_ref=opportunity_id, detail=detail)
    if isinstance(dig(event, "data", "fromArchived"), dict):
        return VendorEvent("cancel", key, application_ref=opportunity_id)
    return VendorEvent("ignore", key, note="the archived state did not change")


# --- The worker's part: Lever's API answers (their ``data``) made into an outcomes row ----------------

def posting_id(opportunity: Mapping) -> str | None:
    """The posting of the opportunity's (first) application; ``expand=applications`` gives objects."""
    application = dig(opportunity, "applications", 0)
    if isinstance(application, dict):
        return text(application.get("posting"))
    return text(opportunity.get("posting"))


def stage(opportunity: Mapping) -> str:
    value = opportunity.get("stage")
    if isinstance(value, dict):
        return stage_of(value.get("text"), STAGES)
    if isinstance(value, str) and value in STAGE_IDS:
        return STAGE_IDS[value]
    return stage_of(None)


def outcome_of(reason: Mapping) -> str | None:
    """Our outcome for an archive reason, or None for a hire (nothing to ask)."""
    if reason.get("type") == "hired":
        return None
    name = (text(reason.get("text")) or "").casefold()
    if "declined" in name:
        return "offer_declined"
    if "withdr" in name:  # "Withdrew", "Candidate withdrawn"
        return "withdrew"
    return "rejected"


def contact_user_ids(opportunity: Mapping, posting: Mapping) -> list[str]:
    """Whose e-mail the company contact is, in order: the posting's hiring manager, else the
    opportunity's owner (Lever's API names no archiving user)."""
    ids = [text(posting.get("hiringManager")), text(opportunity.get("owner"))]
    return [user_id for user_id in ids if user_id]


def decided_on(*moments: object) -> str | None:
    """The ISO date of the first Unix-milliseconds time among ``moments``."""
    for moment in moments:
        if isinstance(moment, int) and not isinstance(moment, bool) and moment > 0:
            try:
                return datetime.fromtimestamp(moment / 1000, UTC).date().isoformat()
            except (OverflowError, OSError, ValueError):
                continue
    return None


def outcome_item(opportunity: Mapping, posting: Mapping, reason: Mapping, contact_email: str | None,
                 detail: Mapping) -> dict[str, str] | None:
    """The outcomes row for an archived opportunity, or None when it is no outcome (a hire)."""
    outcome = outcome_of(reason)
    if outcome is None:
        return None
    return outcome_row(
        candidate_name=join_names([opportunity.get("name")]), candidate_email=dig(opportunity, "emails", 0),
        contact=contact_email, position=posting.get("text"), stage=stage(opportunity), outcome=outcome,
        decided_at=decided_on(dig(opportunity, "archived", "archivedAt"), detail.get("archived_at")),
        application_ref=opportunity.get("id") or detail.get("opportunity_id"),
        locale=person_locale(opportunity),
    )
