"""Greenhouse Recruiting web hooks (https://developers.greenhouse.io/webhooks.html), CONTRACT §8.

Signature: ``Signature: sha256 <hex>``, the HMAC-SHA256 of the whole raw body under the hook's
secret key. Greenhouse escapes non-ASCII as ``\\uXXXX`` before it signs, so the bytes as received
are hashed, never JSON serialised again. Each delivery carries a ``Greenhouse-Event-ID`` header,
the event key; without it the hash of the body is.

Events: ``ping`` (sent when a hook is saved), ``reject_candidate`` (one per candidate, also in
bulk rejections) → an outcome, ``unreject_candidate`` → cancel what is unsent for the application,
``candidate_anonymized`` → the erasure of that candidate's applications at the company, found by
the Greenhouse candidate id kept with each rejection taken (see ``_anonymized``). Anything else is ignored.

The rejection payload names neither who rejected nor a hiring manager (only ``credited_to``, who
sourced the candidate), so the contact is the candidate's recruiter, else their coordinator.
"""
from __future__ import annotations

from .common import (
    VendorEvent,
    body_key,
    dig,
    first_email,
    hmac_hex,
    join_names,
    outcome_row,
    person_locale,
    same_hex,
    stage_of,
    text,
)

# Greenhouse's default interview plan and its common custom stages; lower case (stage_of folds).
STAGES = {
    "application review": "application",
    "preliminary phone screen": "screen",
    "phone screen": "screen",
    "phone interview": "screen",
    "recruiter screen": "screen",
    "hiring manager screen": "screen",
    "face to face": "interview",
    "technical interview": "interview",
    "take home test": "interview",
    "assessment": "interview",
    "final interview": "final",
    "final round": "final",
    "onsite": "final",
    "onsite interview": "final",
    "reference check": "final",
    "offer": "offer",
}

# rejection_reason.type.name: Greenhouse's fixed types. "None specified" and custom types are ours.
THEY_REJECTED_US = "they rejected us"


def verify(secret: str, body: bytes, headers) -> bool:
    """``Signature: sha256 <hex>`` over the raw body; False when absent or of another algorithm."""
    algorithm, _, digest = (headers.get("Signature") or "").strip().partition(" ")
    if algorithm.lower() != "sha256":
        return False
    return same_hex(digest, hmac_hex(secret, body))


def read(event: dict, body: bytes, headers) -> VendorEvent:
    """Greenhouse's event as a VendorEvent; total: odd or missing fields become missing columns."""
    event_id = text(headers.get("Greenhouse-Event-ID"))
    key = f"greenhouse:{event_id}" if event_id else body_key(body)
    action = event.get("action")
    application = dig(event, "payload", "application")
    if action == "ping":
        return VendorEvent("ping", key)
    if action == "reject_candidate":
        return _rejection(key, application if isinstance(application, dict) else {})
    if action == "unreject_candidate":
        return VendorEvent("cancel", key, application_ref=text(dig(application, "id")))
    if action == "candidate_anonymized":
        return _anonymized(key, dig(event, "payload"))
    return VendorEvent("ignore", key, note=f"Greenhouse event {text(action) or '(none)'} is not an outcome")


def _rejection(key: str, application: dict) -> VendorEvent:
    candidate = dig(application, "candidate")
    stage = stage_of(dig(application, "current_stage", "name"), STAGES)
    row = outcome_row(
        candidate_name=join_names([dig(candidate, "first_name"), dig(candidate, "last_name")]),
        candidate_email=candidate_email(dig(candidate, "email_addresses")),
        contact=contact_email(application),
        position=dig(application, "jobs", 0, "name") or dig(application, "job", "name"),
        stage=stage,
        outcome=outcome_of(dig(application, "rejection_reason", "type", "name"), stage),
        locale=person_locale(candidate),
        decided_at=dig(application, "rejected_at"),
        application_ref=dig(application, "id"),
    )
    return VendorEvent("outcome", key, item=row, application_ref=row.get("application_ref"),
                       candidate_ref=text(dig(candidate, "id")))


def _anonymized(key: str, payload: object) -> VendorEvent:
    """Greenhouse documents ``{"candidate_id", "anonymized_fields"}`` only: the erasure finds the
    applications by that id, kept with each rejection this connector took (or by an address, when
    a payload names one)."""
    address = candidate_email(dig(payload, "email_addresses")) or candidate_email(
        dig(payload, "candidate", "email_addresses"))
    candidate_ref = text(dig(payload, "candidate_id")) or text(dig(payload, "candidate", "id"))
    if address is None and candidate_ref is None:
        return VendorEvent("ignore", key, note="Greenhouse anonymised a candidate without naming them")
    return VendorEvent("erase", key, candidate_email=address, candidate_ref=candidate_ref)


def candidate_email(addresses: object) -> str | None:
    """The candidate's ``personal`` address, else the first one listed."""
    if not isinstance(addresses, list):
        return None
    entries = [entry for entry in addresses if isinstance(entry, dict) and text(entry.get("value"))]
    personal = [entry for entry in entries if entry.get("type") == "personal"]
    chosen = (personal or entries or [None])[0]
    return text(chosen.get("value")) if chosen else None


def contact_email(application: object) -> str | None:
    """Who at the company hears of the decision: the recruiter, else the coordinator (the payload
    names no rejecting user and no hiring manager)."""
    return first_email(dig(application, "candidate", "recruiter", "email"),
                       dig(application, "candidate", "coordinator", "email"))


def outcome_of(reason_type: object, stage: str) -> str:
    """"They rejected us" is the candidate withdrawing (declining, at the offer); any other type
    ("We rejected them", "None specified", a custom one) is the company's rejection."""
    if isinstance(reason_type, str) and " ".join(reason_type.split()).casefold() == THEY_REJECTED_US:
        return "offer_declined" if stage == "offer" else "withdrew"
    return "rejected"
