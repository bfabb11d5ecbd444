"""Ashby webhooks (https://developers.ashbyhq.com/docs/setting-up-webhooks), CONTRACT §8.

Signature: ``Ashby-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw body under the webhook's
secret token. Every body is ``{"webhookActionId", "action", "data"}``; ``ping`` is sent when a
webhook is created or edited.

Event key: Ashby's ``webhookActionId`` is the same across retries of one event, and also shared by
its *related* webhooks (a stage change also sends ``applicationUpdate``; docs "Related Webhooks").
The key is therefore the hash of (webhookActionId, application id, status), without the action:
the ``candidateStageChange`` and ``applicationUpdate`` of one archive are one event, taken once,
while a later un-archive of the same application (another status) is a new one. Without a
webhookActionId the hash of the body is the key.

``applicationUpdate`` / ``candidateStageChange`` with ``data.application.status`` "Archived" → an
outcome; with status "Active" → cancel for that application (the payload carries no previous
status; an application we never imported is simply not found). Anything else is ignored.
"""
from __future__ import annotations

import hashlib

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
    text,
)

APPLICATION_EVENTS = ("applicationUpdate", "candidateStageChange")

# Ashby's default interview plan and common custom stage titles; lower case (stage_of folds).
STAGES = {
    "new lead": "application",
    "applied": "application",
    "reached out": "application",
    "application review": "application",
    "replied": "application",
    "recruiter screen": "screen",
    "phone screen": "screen",
    "hiring manager screen": "screen",
    "first round": "interview",
    "technical interview": "interview",
    "take home": "interview",
    "team interview": "interview",
    "onsite": "final",
    "final round": "final",
    "final interview": "final",
    "reference check": "final",
    "offer": "offer",
}
# currentInterviewStage.type, when the title is not in the table.
# Ashby's "PreInterviewScreen" holds the stages before any screen ("Applied", "Application Review").
STAGE_TYPES = {"offer": "offer", "preinterviewscreen": "application", "lead": "application"}

# hiringTeam[].role, in the order the contact is chosen (the payload names no archiving user).
CONTACT_ROLES = ("hiring manager", "recruiter", "recruiting coordinator", "coordinator")


def verify(secret: str, body: bytes, headers) -> bool:
    """``Ashby-Signature: sha256=<hex>`` over the raw body; False when absent or of another algorithm."""
    algorithm, _, digest = (headers.get("Ashby-Signature") or "").strip().partition("=")
    if algorithm.lower() != "sha256":
        return False
    return same_hex(digest, hmac_hex(secret, body))


def read(event: dict, body: bytes, headers) -> VendorEvent:
    """Ashby's event as a VendorEvent; total: odd or missing fields become missing columns."""
    action = event.get("action")
    application = dig(event, "data", "application")
    application = application if isinstance(application, dict) else {}
    status = text(application.get("status"))
    key = event_key(event, body, application, status)
    if action == "ping":
        return VendorEvent("ping", key)
    if action in APPLICATION_EVENTS and status == "Archived":
        return _archived(key, application)
    if action in APPLICATION_EVENTS and status == "Active":
        return VendorEvent("cancel", key, application_ref=text(application.get("id")))
    return VendorEvent("ignore", key, note=f"Ashby event {text(action) or '(none)'} "
                                           f"({status or 'no status'}) is not an outcome")


def event_key(event: dict, body: bytes, application: dict, status: str | None) -> str:
    action_id = text(event.get("webhookActionId")) or text(dig(event, "data", "webhookActionId"))
    if action_id is None:
        return body_key(body)
    parts = "\x1f".join([action_id, text(application.get("id")) or "", status or ""])
    return "ashby:" + hashlib.sha256(parts.encode()).hexdigest()


def _archived(key: str, application: dict) -> VendorEvent:
    stage = stage_for(application.get("currentInterviewStage"))
    row = outcome_row(
        candidate_name=dig(application, "candidate", "name"),
        candidate_email=dig(application, "candidate", "primaryEmailAddress", "value"),
        contact=contact_email(application.get("hiringTeam")),
        position=dig(application, "job", "title"),
        stage=stage,
        outcome=outcome_of(dig(application, "archiveReason", "reasonType"), stage),
        locale=person_locale(application.get("candidate")),
        decided_at=application.get("archivedAt") or application.get("updatedAt"),
        application_ref=application.get("id"),
    )
    return VendorEvent("outcome", key, item=row, application_ref=row.get("application_ref"))


def stage_for(stage: object) -> str:
    """Our stage for ``currentInterviewStage``: its title by the table, else its type, else the words."""
    title = dig(stage, "title")
    folded = " ".join(title.split()).casefold() if isinstance(title, str) else ""
    if folded in STAGES:
        return STAGES[folded]
    kind = dig(stage, "type")
    if isinstance(kind, str) and kind.casefold() in STAGE_TYPES:
        return STAGE_TYPES[kind.casefold()]
    return stage_of(title, STAGES)


def contact_email(hiring_team: object) -> str | None:
    """The hiring team's hiring manager, else its recruiter, else its coordinator."""
    members = [member for member in hiring_team if isinstance(member, dict)] if isinstance(hiring_team, list) else []
    by_role: dict[str, list[object]] = {}
    for member in members:
        role = member.get("role")
        if isinstance(role, str):
            by_role.setdefault(" ".join(role.split()).casefold(), []).append(member.get("email"))
    return first_email(*(email for role in CONTACT_ROLES for email in by_role.get(role, [])))


def outcome_of(reason_type: object, stage: str) -> str:
    """archiveReason.reasonType: "RejectedByCandidate" is a withdrawal (declining, at the offer);
    "RejectedByOrg", "Other" or none is the company's rejection."""
    if reason_type == "RejectedByCandidate":
        return "offer_declined" if stage == "offer" else "withdrew"
    return "rejected"
