"""Workable (workable.readme.io/reference/webhook-subscriptions-candidates-employees): a
subscription to ``candidate_moved`` posts the candidate as it is *when the request is sent*
(``data``, like the candidate details endpoint), signed in ``X-Workable-Signature`` with
HMAC-SHA256 of the payload. The key is the account's API access token (or, for an OAuth app, the
application's secret): that is the connector's secret.

Workable's documentation does not say how the digest is written; hex is what Workable sends and
what integrations check, and the base64 form of the same digest is accepted too (it proves the same
key, so it weakens nothing).

Because the body is the candidate's state at sending time, ``data.disqualified`` decides, never the
event name: disqualified is an outcome, a candidate no longer disqualified (a reverted
disqualification) cancels what is unsent for that application, anything else is ignored.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from .common import (
    VendorEvent,
    body_key,
    dig,
    first_email,
    join_names,
    outcome_row,
    person_locale,
    stage_of_name_or_kind,
    text,
)

SIGNATURE_HEADER = "X-Workable-Signature"
EVENT = "candidate_moved"  # the one candidate event that follows a disqualification and its revert

# Workable's default pipeline stages (names and slugs) and stage kinds, lower case.
STAGES = {
    "sourced": "application", "applied": "application", "shortlisted": "application",
    "phone screen": "screen", "phone-screen": "screen", "phone_screen": "screen", "screening": "screen",
    "assessment": "interview", "interview": "interview",
    "final interview": "final", "final-interview": "final",
    "offer": "offer", "hired": "offer",
}

# Words in a disqualification reason that say the candidate left: outcome "withdrew".
WITHDREW_WORDS = ("withdr", "declined", "not interested", "no longer interested", "accepted another",
                  "accepted other", "by candidate")


def verify(secret: str, body: bytes, headers) -> bool:
    """The header is HMAC-SHA256 of the raw body under the account token, hex (or base64)."""
    given = headers.get(SIGNATURE_HEADER)
    if not given or not given.isascii():
        return False
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    given = given.strip()
    return (hmac.compare_digest(given.lower(), digest.hex())
            | hmac.compare_digest(given, base64.b64encode(digest).decode()))


def read(event: dict, body: bytes, headers) -> VendorEvent:
    """Map one Workable event to what the intake does with it (never raises)."""
    event_type = event.get("event_type")
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    ref = application_ref(data)
    if event_type != EVENT or data.get("disqualified") not in (True, False):
        return VendorEvent("ignore", body_key(body), note=f"Workable event {text(event_type) or '(none)'} is no outcome")
    if data["disqualified"] is True:
        return VendorEvent("outcome", event_key(data, body), item=outcome_item(data), application_ref=ref)
    if ref is None:
        return VendorEvent("ignore", body_key(body), note="a candidate that is not disqualified")
    # Not disqualified (any more): the body cannot tell a reverted disqualification from a plain
    # move, so cancel what is unsent for the application; for one never imported (a candidate on
    # their way through the pipeline) the intake finds nothing and cancels nothing.
    return VendorEvent("cancel", body_key(body), application_ref=ref)


def event_key(data: dict, body: bytes) -> str:
    """One disqualification: the candidate, the job and when it happened. Not the body's hash: the
    body is the state when sent, so a retry may differ in unrelated fields (``updated_at``)."""
    parts = (text(data.get("id")), text(dig(data, "job", "shortcode")), text(data.get("disqualified_at")))
    if all(parts):
        return "workable:" + ":".join(parts)  # type: ignore[arg-type]
    return body_key(body)


def application_ref(data: dict) -> str | None:
    """``<candidate id>:<job shortcode>``: Workable's candidate ids are per job already, the
    shortcode keeps a copied candidate apart."""
    candidate_id, shortcode = text(data.get("id")), text(dig(data, "job", "shortcode"))
    return f"{candidate_id}:{shortcode}" if candidate_id and shortcode else None


def outcome_item(data: dict) -> dict[str, str]:
    """The outcomes row of a disqualified candidate (CSV columns; what is missing is left out)."""
    return outcome_row(
        candidate_name=text(data.get("name")) or join_names([data.get("firstname"), data.get("lastname")]),
        candidate_email=data.get("email"),
        contact=contact_of(data),
        position=dig(data, "job", "title"),
        stage=stage_of_candidate(data),
        outcome=outcome_of(data),
        locale=person_locale(data),
        decided_at=data.get("disqualified_at"),
        application_ref=application_ref(data),
    )


def stage_of_candidate(data: dict) -> str:
    """Our stage for the candidate's Workable stage: its name or slug, else its ``stage_kind``."""
    return stage_of_name_or_kind(data.get("stage"), data.get("stage_kind"), STAGES)


def outcome_of(data: dict) -> str:
    """``withdrew`` when Workable says the candidate withdrew (``withdrew``: true) or the reason says
    they withdrew or declined; else ``rejected``."""
    if data.get("withdrew") is True:
        return "withdrew"
    reason = data.get("disqualification_reason")
    folded = reason.casefold() if isinstance(reason, str) else ""
    return "withdrew" if any(word in folded for word in WITHDREW_WORDS) else "rejected"


def person_email(person: object) -> object:
    return person.get("email") if isinstance(person, dict) else None


def contact_of(data: dict) -> str | None:
    """The company contact: the member who disqualified (``disqualified_by``), else the job's hiring
    manager, else its recruiter. Workable's candidate payload documents none of these, so a
    disqualification usually arrives without one: only the candidate is asked then."""
    job = data.get("job")
    managers = dig(job, "hiring_managers")
    return first_email(
        person_email(data.get("disqualified_by")), person_email(dig(job, "hiring_manager")),
        person_email(managers[0]) if isinstance(managers, list) and managers else None,
        person_email(dig(job, "recruiter")), person_email(data.get("recruiter")),
    )
