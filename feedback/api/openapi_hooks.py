"""The OpenAPI description of POST /hooks/<kind>/<id>, the ATS connectors (api/hooks.py): one path
per kind, each vendor's signature header, its event's main fields and every answer."""
from __future__ import annotations

from .openapi import ERRORS, EVENT_EXAMPLE, _error_response

# Examples (schemathesis sends them too): the vendors' documented payloads as the connector tests
# post them (tests/test_ats_<kind>.py), trimmed, with made-up addresses.
GREENHOUSE_EXAMPLE = {
    "action": "reject_candidate",
    "payload": {"application": {
        "id": 265293, "rejected_at": "2026-11-30T15:50:41Z", "status": "rejected",
        "rejection_reason": {"id": 14, "name": "Too Junior", "type": {"id": 1, "name": "We rejected them"}},
        "current_stage": {"id": 2708728, "name": "Phone Interview"},
        "candidate": {"id": 265788, "first_name": "Zoë", "last_name": "Núñez",
                      "email_addresses": [{"value": "zoe.work@example.org", "type": "work"},
                                          {"value": "zoe.nunez@example.org", "type": "personal"}],
                      "recruiter": {"id": 3128, "email": "alicia.recruiter@example.org", "name": "Alicia Flopple"},
                      "coordinator": {"id": 3129, "email": "sam.coordinator@example.org", "name": "Sam Kang"}},
        "jobs": [{"id": 371417, "name": "Designer"}]}},
}
ASHBY_EXAMPLE = {
    "webhookActionId": "75395d87-4044-4dc4-bc29-0cec185e5f06",
    "action": "candidateStageChange",
    "data": {"application": {
        "id": "d5a6bc97-4259-4bc5-b3fe-6d3edfd538e3", "status": "Archived",
        "updatedAt": "2026-12-01T16:10:00.000Z", "archivedAt": "2026-12-01T16:09:30.000Z",
        "candidate": {"id": "5b591f5e-0a8f-4a53-b0b6-4b1d3e2bb1aa", "name": "James Hart",
                      "primaryEmailAddress": {"value": "james.hart@example.org", "type": "Work", "isPrimary": True}},
        "currentInterviewStage": {"id": "3ae2b801-19f6-41ef-ad28-214bd731948f", "title": "Technical Interview",
                                  "type": "Active"},
        "archiveReason": {"id": "7ca3a8c5-8f0d-4a53-b0b6-4b1d3e2bb1ad", "text": "Too inexperienced",
                          "reasonType": "RejectedByOrg"},
        "job": {"id": "4071538b-3cac-4fbf-ac76-f78ed250ffdd", "title": "First Designer"},
        "hiringTeam": [{"email": "rita.recruiter@example.org", "role": "Recruiter"},
                       {"email": "joey.manager@example.org", "role": "Hiring Manager"}]}},
}
LEVER_EXAMPLE = {
    "triggeredAt": 1507745680251,
    "event": "candidateArchiveChange",
    "token": "4a8f0e0c3b2d1e9f8a7b6c5d4e3f2a1b",
    "signature": "b6a9f1d35c2e8e1f3c0f3f8b7d1b2e8a6e7f0c9d4b3a2f1e0d9c8b7a6f5e4d3c",
    "data": {"candidateId": "250d8f03-738a-4bba-a671-8a3d73477145",
             "opportunityId": "250d8f03-738a-4bba-a671-8a3d73477145",
             "toArchived": {"archivedAt": 1507745680251, "reason": "63dd55b2-a99f-4e7b-985f-22c7bf80ab42"},
             "fromArchived": None},
}
RECRUITEE_EXAMPLE = {
    "id": 6393901, "attempt_count": 1, "created_at": "2026-11-20T09:12:44.882646Z",
    "event_type": "candidate_moved", "event_subtype": "disqualified", "level": "company",
    "payload": {
        "candidate": {"id": 46044126, "name": "Ana Silva", "emails": ["ana.silva@example.org"]},
        "details": {"disqualify_kind": "admin", "disqualify_reason": {"id": 11, "name": "Wrong skill set"},
                    "from_stage": {"category": "interview", "id": 8063170, "name": "Technical interview"},
                    "to_stage": None,
                    "disqualified_by": {"id": 152125, "email": "marta.reyes@example.org"}},
        "offer": {"id": 1181299, "kind": "job", "title": "QA Engineer",
                  "hiring_manager": {"id": 152126, "email": "head.of.qa@example.org"}}},
}
WORKABLE_EXAMPLE = {
    "id": "7d1f0c2e", "event_type": "candidate_moved", "fired_at": "2026-11-20T09:12:45Z", "resource_type": "candidate",
    "data": {
        "id": "ce4da98", "name": "Ana Silva", "firstname": "Ana", "lastname": "Silva", "email": "ana.silva@example.org",
        "job": {"shortcode": "GROOV005", "title": "QA Engineer",
                "hiring_manager": {"name": "Marta Reyes", "email": "marta.reyes@example.org"}},
        "stage": "Phone screen", "stage_kind": "phone_screen", "disqualified": True, "withdrew": False,
        "disqualification_reason": "Not enough test automation experience",
        "disqualified_at": "2026-11-20T09:12:40Z"},
}
# The generic connector takes the operator webhook's events; the company is the connector's.
GENERIC_EXAMPLE = {**EVENT_EXAMPLE, "application": {
    key: value for key, value in EVENT_EXAMPLE["application"].items() if key != "company"}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _header(name: str, description: str, required: bool = True) -> dict:
    return {"name": name, "in": "header", "required": required, "description": description,
            "schema": {"type": "string"}}


# kind: (operationId, summary, header parameters, the answers a 200 may be, whether it imports (201, 422)).
HOOKS = {
    "greenhouse": ("greenhouseHook",
                   "Greenhouse web hooks: reject_candidate imports, unreject_candidate cancels what is unsent, "
                   "candidate_anonymized erases at the company; ping; anything else is ignored",
                   [_header("Signature", "`sha256 <hex HMAC-SHA256 of the raw body>`"),
                    _header("Greenhouse-Event-ID", "The delivery's id: a retry with it is taken once", required=False)],
                   ["HookPing", "HookIgnored", "HookDuplicate", "HookCancelled", "HookErased", "WebhookResult"], True),
    "ashby": ("ashbyHook",
              "Ashby webhooks: applicationUpdate / candidateStageChange with the application Archived imports, "
              "Active cancels what is unsent; ping; anything else is ignored",
              [_header("Ashby-Signature", "`sha256=<hex HMAC-SHA256 of the raw body>`")],
              ["HookPing", "HookIgnored", "HookDuplicate", "HookCancelled", "WebhookResult"], True),
    "lever": ("leverHook",
              "Lever webhooks, signed in the body (`signature` = hex HMAC-SHA256 of token + triggeredAt): "
              "candidateArchiveChange to archived is queued (202) and read from Lever's API by the worker, "
              "from archived cancels what is unsent; anything else is ignored",
              [], ["HookIgnored", "HookDuplicate", "HookCancelled"], False),
    "recruitee": ("recruiteeHook",
                  "Recruitee webhooks: candidate_moved disqualified imports, requalified cancels what is unsent; "
                  "the test request ({\"test\": true}) is a ping; anything else is ignored",
                  [_header("X-Recruitee-Signature", "Hex HMAC-SHA256 of the raw body")],
                  ["HookPing", "HookIgnored", "HookDuplicate", "HookCancelled", "WebhookResult"], True),
    "workable": ("workableHook",
                 "Workable candidate_moved subscriptions: a disqualified candidate imports, one no longer "
                 "disqualified cancels what is unsent; anything else is ignored",
                 [_header("X-Workable-Signature", "HMAC-SHA256 of the raw body under the account's API token, "
                                                  "hex (or base64)")],
                 ["HookIgnored", "HookDuplicate", "HookCancelled", "WebhookResult"], True),
}
EXAMPLES = {"greenhouse": GREENHOUSE_EXAMPLE, "ashby": ASHBY_EXAMPLE, "lever": LEVER_EXAMPLE,
            "recruitee": RECRUITEE_EXAMPLE, "workable": WORKABLE_EXAMPLE, "generic": GENERIC_EXAMPLE}


def _hook_operation(kind: str, operation_id: str, summary: str, headers: list[dict], responses: dict) -> dict:
    connector_id = {"name": "connector_id", "in": "path", "required": True,
                    "description": "The id `feedback connectors create` printed in the connector's URL",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}}
    name = kind.title() if kind != "generic" else "GenericHook"
    return {"post": {
        "operationId": operation_id, "summary": summary, "security": [],
        "parameters": [connector_id, *headers],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": _ref(f"{name}Event"), "example": EXAMPLES[kind]}}},
        "responses": dict(sorted({
            **ERRORS,
            "400": _error_response("The body is not a JSON object"),
            "401": _error_response("The signature is missing or does not match"),
            "404": _error_response("No connector of this kind with this id, or it was revoked"),
            "503": _error_response("The connector's secret cannot be read (SECRET_KEY changed without "
                                   "SECRET_KEY_FALLBACKS): create it again"),
            **responses,
        }.items())),
    }}


def hook_paths() -> dict:
    """One path per connector kind (CONTRACT §8): its signature header, its event, its answers."""
    paths = {}
    for kind, (operation_id, summary, headers, answers, imports) in HOOKS.items():
        responses = {"200": _json("Taken: already known, a retry of an event taken before, ignored (not an "
                                  "outcome), a ping, cancelled or erased", {"oneOf": [_ref(n) for n in answers]}),
                     "409": _error_response("Stored by another delivery at the same moment, twice: send it again")}
        if imports:
            responses["201"] = _json("Imported", _ref("WebhookResult"))
            responses["422"] = _json("An outcome that names no candidate address, lacks a field or names "
                                     "another company; nothing written", _ref("ValidationErrors"))
        else:
            responses["202"] = _json("Queued: the worker reads the rest from Lever's API", _ref("HookQueued"))
            responses["401"] = _error_response("The signature is missing or does not match (a body that is not "
                                               "JSON, or lacks token, triggeredAt or signature, among them)")
        paths[f"/hooks/{kind}/{{connector_id}}"] = _hook_operation(kind, operation_id, summary, headers, responses)
    paths["/hooks/generic/{connector_id}"] = _hook_operation("generic", "genericHook", (
        "A company's generic connector: the outcome webhook's signed events, imported for the connector's "
        "company only"), [
        _header("X-Feedback-Timestamp", "Unix seconds, within 5 minutes of now"),
        _header("X-Feedback-Signature", '`sha256=<hex HMAC-SHA256 of "<timestamp>." + the raw body>`'),
    ], {
        "200": _json("Already known", _ref("WebhookResult")),
        "201": _json("Imported", _ref("WebhookResult")),
        "409": _error_response("This delivery was already received"),
        "422": _json("Invalid event, or one for another company", _ref("ValidationErrors")),
    })
    return paths


def hook_schemas(outcome_event: dict, ats_application: dict) -> dict:
    """The vendors' events (their main fields; a vendor may send more) and the hooks' answers."""
    string, integer, boolean = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
    maybe_string = {"type": ["string", "null"]}
    text_or_null = {"type": ["string", "null"], "minLength": 1, "pattern": "\\S"}  # as the outcome's text
    ident = {"type": ["integer", "string"]}
    email = {"type": ["object", "null"], "properties": {"email": maybe_string}}

    def thing(required: list[str] | None = None, nullable: bool = False, **properties) -> dict:
        schema = {"type": ["object", "null"] if nullable else "object", "properties": properties}
        return {**schema, "required": required} if required else schema

    when = {**maybe_string, "description": "An ISO 8601 date-time; its date is the decision date"}
    lever_archive = thing(nullable=True, archivedAt=integer, reason=string)
    return {
        "GreenhouseEvent": thing(["action"], action={**string, "examples": [
            "reject_candidate", "unreject_candidate", "candidate_anonymized", "ping"]}, payload=thing(
            application=thing(
                id=ident, rejected_at=when, status=maybe_string,
                current_stage=thing(nullable=True, name=string),
                rejection_reason=thing(nullable=True, name=maybe_string, type=thing(nullable=True, name={
                    **string, "description": "\"They rejected us\" is the candidate's withdrawal"})),
                candidate=thing(id=ident, first_name=maybe_string, last_name=maybe_string,
                                email_addresses={"type": "array", "items": thing(value=string, type=maybe_string),
                                                 "description": "The personal one, else the first"},
                                recruiter=email, coordinator=email),
                jobs={"type": "array", "items": thing(id=ident, name=string)}),
            candidate_id={**ident, "description": "candidate_anonymized: whose applications are erased"})),
        "AshbyEvent": thing(["action"], webhookActionId=string, action={**string, "examples": [
            "applicationUpdate", "candidateStageChange", "ping"]}, data=thing(application=thing(
                id=string, status={**string, "examples": ["Archived", "Active", "Hired"]},
                candidate=thing(name=string, primaryEmailAddress=thing(nullable=True, value=string)),
                currentInterviewStage=thing(nullable=True, title=string, type=string),
                archiveReason=thing(nullable=True, text=string, reasonType={**string, "examples": [
                    "RejectedByOrg", "RejectedByCandidate", "Other"]}),
                archivedAt=when, updatedAt=when, job=thing(title=string),
                hiringTeam={"type": "array", "items": thing(email=string, role=string)}))),
        "LeverEvent": thing(
            ["triggeredAt", "event", "token", "signature"], triggeredAt={**integer, "description": "Unix ms"},
            event={**string, "examples": ["candidateArchiveChange"]}, token={**string, "minLength": 1},
            signature={**string, "description": "Hex HMAC-SHA256 of token + triggeredAt (the rest is not signed)"},
            data=thing(opportunityId=string, candidateId=string, toArchived=lever_archive,
                       fromArchived=lever_archive)),
        "RecruiteeEvent": thing(
            id=ident, test={**boolean, "description": "Recruitee's test request: a ping"},
            event_type={**string, "examples": ["candidate_moved"]},
            event_subtype={**string, "examples": ["disqualified", "requalified", "stage_changed"]},
            created_at=when, attempt_count=integer, payload=thing(
                candidate=thing(id=ident, name=string, emails={"type": "array", "items": string}),
                offer=thing(id=ident, title=string, hiring_manager=email),
                details=thing(disqualify_kind=maybe_string,
                              disqualify_reason={"type": ["object", "string", "null"],
                                                 "properties": {"name": string}},
                              from_stage=thing(nullable=True, name=string, category=string),
                              to_stage=thing(nullable=True, name=string, category=string),
                              disqualified_by=email))),
        "WorkableEvent": thing(
            ["event_type", "data"], id=string, event_type={**string, "examples": ["candidate_moved"]},
            fired_at=when, data=thing(
                id=string, name=string, firstname=maybe_string, lastname=maybe_string, email=string,
                job=thing(shortcode=string, title=string, hiring_manager=email),
                stage=maybe_string, stage_kind=maybe_string,
                disqualified={**boolean, "description": "The candidate's state when sent: this decides"},
                withdrew=boolean, disqualification_reason=maybe_string, disqualified_at=when)),
        "GenericHookEvent": {**outcome_event, "properties": {
            **outcome_event["properties"], "application": _ref("GenericHookApplication")}},
        "GenericHookApplication": {
            **ats_application, "required": [key for key in ats_application["required"] if key != "company"],
            "properties": {**ats_application["properties"], "company": {
                "type": ["object", "null"], "properties": {"name": {**text_or_null, "maxLength": 200}},
                "description": "The connector's company when left out (or null); another company is refused "
                               "(422)"}}},
        "HookPing": thing(["ok"], ok={"const": True}),
        "HookIgnored": thing(["ignored"], ignored={**string, "description": "Why: not an outcome, no such "
                                                                            "application…"}),
        "HookDuplicate": thing(["duplicate"], duplicate={"const": True}),
        "HookCancelled": thing(["cancelled", "known"], cancelled={**integer, "minimum": 0,
                                                                  "description": "Queued e-mails cancelled"},
                               known={"const": True}),
        "HookErased": thing(["erased_applications"], erased_applications={"type": "integer", "minimum": 0}),
        "HookQueued": thing(["queued"], queued={"const": True}),
    }
