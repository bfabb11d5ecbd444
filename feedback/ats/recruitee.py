"""Recruitee (docs.recruitee.com/docs/webhooks): ``candidate_moved`` events, signed in the
``X-Recruitee-Signature`` header with the hex HMAC-SHA256 of the raw body under the webhook's
secret (the one Recruitee shows in its webhook dialog).

A ``candidate_moved`` event has a subtype: ``stage_changed``, ``disqualified`` or ``requalified``.
A disqualification is an outcome; a requalification takes it back (cancel); a stage change and
every other event type are ignored. Recruitee's **Test** button posts ``{"test": true}`` (its
"Test payload" buttons add an example event to that flag): a ping, never imported.

The key of an event is Recruitee's own event ``id``: Recruitee retries an undelivered event with
a rising ``attempt_count`` in the body, so the hash of the body would differ between attempts.
"""
from __future__ import annotations

from .common import (
    VendorEvent,
    body_key,
    dig,
    first_email,
    hmac_hex,
    outcome_row,
    person_locale,
    same_hex,
    stage_of,
    stage_of_name_or_kind,
    text,
)

SIGNATURE_HEADER = "X-Recruitee-Signature"

# Recruitee's default pipeline stage names and stage categories, lower case (custom stages fall to stage_of).
STAGES = {
    "applied": "application", "apply": "application", "sourced": "application", "new": "application",
    "phone screen": "screen", "phone_screen": "screen", "phone interview": "screen", "screening": "screen",
    "interview": "interview", "evaluation": "interview", "assessment": "interview",
    "final interview": "final", "final": "final",
    "offer": "offer", "hire": "offer", "hired": "offer",
}

# Words in a disqualify reason that say the candidate left, not the company: outcome "withdrew".
WITHDREW_WORDS = ("withdr", "declined", "not interested", "no longer interested", "accepted another",
                  "accepted other", "by candidate")


def verify(secret: str, body: bytes, headers) -> bool:
    """The header is the hex HMAC-SHA256 of the raw body (a missing header is False)."""
    return same_hex(headers.get(SIGNATURE_HEADER), hmac_hex(secret, body))


def read(event: dict, body: bytes, headers) -> VendorEvent:
    """Map one Recruitee event to what the intake does with it (never raises)."""
    event_id = text(event.get("id"))
    key = f"recruitee:{event_id}" if event_id else body_key(body)
    if event.get("test") is True:
        return VendorEvent("ping", key, note="Recruitee's test request")
    event_type, subtype = event.get("event_type"), event.get("event_subtype")
    if event_type != "candidate_moved":
        return VendorEvent("ignore", key, note=f"Recruitee event {text(event_type) or '(none)'} is no outcome")
    payload = event.get("payload") if isinstance(event.get("payload"), dict) else {}
    ref = application_ref(payload)
    if subtype == "requalified":
        if ref is None:
            return VendorEvent("ignore", key, note="a requalification that names no candidate and job")
        return VendorEvent("cancel", key, application_ref=ref)
    if subtype != "disqualified":
        return VendorEvent("ignore", key, note=f"candidate_moved {text(subtype) or '(no subtype)'} is no outcome")
    return VendorEvent("outcome", key, item=outcome_item(event, payload), application_ref=ref)


def outcome_item(event: dict, payload: dict) -> dict[str, str]:
    """The outcomes row of a disqualification (CSV columns; what is missing is left out)."""
    candidate = payload.get("candidate")
    details = payload.get("details")
    emails = dig(candidate, "emails")
    return outcome_row(
        candidate_name=dig(candidate, "name"),
        candidate_email=first_email(*emails) if isinstance(emails, list) else None,
        contact=contact_of(payload),
        position=dig(payload, "offer", "title"),
        stage=stage_at_disqualification(details),
        outcome=outcome_of(details, payload.get("placement")),
        locale=person_locale(candidate),
        decided_at=event.get("created_at"),
        application_ref=application_ref(payload),
    )


def application_ref(payload: dict) -> str | None:
    """``<candidate id>:<offer id>``: a candidate's application to one job (a placement)."""
    candidate_id = text(dig(payload, "candidate", "id"))
    offer_id = text(dig(payload, "offer", "id")) or text(dig(payload, "placement", "offer_id"))
    if candidate_id is None or offer_id is None:
        return None
    return f"{candidate_id}:{offer_id}"


def stage_at_disqualification(details: object) -> str:
    """Our stage for where the candidate stood: Recruitee keeps a disqualified candidate in their
    stage, which the details give as ``stage`` (or the ``from_stage`` / ``to_stage`` of the move);
    by the stage's name first, then by its category (apply, interview, offer, hire …)."""
    for field in ("stage", "from_stage", "to_stage"):
        stage = dig(details, field)
        if isinstance(stage, dict):
            return stage_of_name_or_kind(stage.get("name"), stage.get("category"), STAGES)
        if isinstance(stage, str) and stage.strip():
            return stage_of(stage, STAGES)
    return stage_of(None)


def reason_text(details: object, placement: object) -> str:
    """The disqualify reason, as Recruitee names it (a string, or an object with a ``name``)."""
    for source in (details, placement):
        reason = dig(source, "disqualify_reason")
        if isinstance(reason, dict):
            reason = reason.get("name")
        if isinstance(reason, str) and reason.strip():
            return reason.strip()
    return ""


def outcome_of(details: object, placement: object = None) -> str:
    """``withdrew`` when the candidate disqualified themselves (``disqualify_kind`` is
    ``candidate``) or the reason says they withdrew or declined; else ``rejected``."""
    kind = dig(details, "disqualify_kind") or dig(placement, "disqualify_kind")
    if isinstance(kind, str) and kind.strip().casefold() in ("candidate", "withdrawn", "withdrew", "withdraw"):
        return "withdrew"
    folded = reason_text(details, placement).casefold()
    return "withdrew" if any(word in folded for word in WITHDREW_WORDS) else "rejected"


def person_email(person: object) -> object:
    return person.get("email") if isinstance(person, dict) else None


def contact_of(payload: dict) -> str | None:
    """The company contact: the team member who disqualified (the details' ``disqualified_by``, the
    event's ``performed_by`` or ``admin``), else the job's hiring manager, else its recruiter."""
    details, offer = payload.get("details"), payload.get("offer")
    managers = dig(offer, "hiring_managers")
    return first_email(
        person_email(dig(details, "disqualified_by")), person_email(dig(payload, "performed_by")),
        person_email(dig(payload, "admin")), person_email(dig(offer, "hiring_manager")),
        person_email(managers[0]) if isinstance(managers, list) and managers else None,
        person_email(dig(offer, "recruiter")),
    )
