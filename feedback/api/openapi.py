"""The OpenAPI 3.1 document of API v1, kept beside the code it describes (tests check they agree)."""
from __future__ import annotations

from flask import current_app

from ..i18n import SHIPPED
from ..models import OUTCOMES, STAGES
from ..surveys.definitions import LIKERT_KEYS

NULLABLE_NUMBER = {"type": ["number", "null"]}


def _error_response(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


ERRORS = {
    "400": _error_response("Malformed request"),
    "401": _error_response("Missing, unknown or revoked API key"),
    "403": _error_response("The key's user may not do this"),
    "404": _error_response("Not found, or not visible to the key's user"),
    "405": _error_response("Method not allowed"),
    "413": _error_response("Body too large"),
    "429": _error_response("Too many requests"),
}


def _follow_up_schema() -> dict:
    """CONTRACT §6 ``follow_up``: the company's own follow-up speed, in working days (Monday to Friday)."""
    count = {"type": "integer", "minimum": 0}
    speed_group = {"type": "object", "required": ["responses", "withheld", "nps"], "properties": {
        "responses": count, "withheld": {"type": "boolean"}, "nps": NULLABLE_NUMBER}}
    return {"type": "object", "required": ["sla_days", "company_feedback", "by_speed"], "properties": {
        "sla_days": count,
        "company_feedback": {
            "type": "object", "required": ["due", "given", "within_sla", "overdue", "median_days"], "properties": {
                "due": count, "given": count, "within_sla": count, "overdue": count, "median_days": NULLABLE_NUMBER}},
        "by_speed": {"type": "object", "required": ["within_sla", "late_or_never"],
                     "properties": {"within_sla": speed_group, "late_or_never": speed_group}}},
        "description": "by_speed: the candidate NPS by whether the company's feedback came within sla_days "
                       "working days, as of the anonymity snapshot's last response; each group withheld "
                       "under min_responses"}


def _group_schema() -> dict:
    return {
        "type": "object",
        "required": ["responses", "withheld", "nps", "questions"],
        "properties": {
            "responses": {"type": "integer"},
            "withheld": {"type": "boolean"},
            "nps": NULLABLE_NUMBER,
            "questions": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/QuestionFigure"}},
        },
    }


# Examples (schemathesis sends them too): a made-up company, so no tenant's name is published.
OUTCOME_EXAMPLE = {
    "candidate_name": "Jordan Lee", "candidate_email": "jordan.lee@example.org", "company": "Example Widgets",
    "company_contact_email": "hiring@widgets.example.com", "position": "QA Engineer", "stage": "interview",
    "outcome": "rejected", "decided_on": "2026-10-02", "application_ref": "GH-4411",
}
EVENT_EXAMPLE = {
    "event": "candidate.rejected", "occurred_at": "2026-10-02T10:00:00Z",
    "application": {"id": "GH-4411", "stage": "Onsite", "job": {"title": "QA Engineer"},
                    "company": {"name": "Example Widgets"},
                    "candidate": {"first_name": "Jordan", "last_name": "Lee", "email": "jordan.lee@example.org"},
                    "rejected_by": {"email": "hiring@widgets.example.com"}},
}


def openapi_document() -> dict:
    """The document served at /api/v1/openapi.json."""
    # Required text: not blank (the import answers "is required" for "" or spaces).
    text = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"}
    outcome_properties = {
        "candidate_name": text,
        "candidate_email": {"type": "string", "format": "email", "maxLength": 320},
        "company": text,
        # The optional columns may be null: the same as leaving them out.
        "company_contact_email": {"type": ["string", "null"], "format": "email", "maxLength": 320,
                                  "description": "Required when outcome is rejected"},
        "position": text,
        "stage": {"type": "string", "enum": list(STAGES)},
        "outcome": {"type": "string", "enum": list(OUTCOMES)},
        "decided_on": {"type": "string", "format": "date", "description": "YYYY-MM-DD, not in the future"},
        "application_ref": {"type": ["string", "null"], "maxLength": 200},
        "locale": {"type": ["string", "null"], "maxLength": 35,
                   "description": "The candidate's language, a BCP 47 tag: " + ", ".join(SHIPPED)
                                  + " (a region of one of them counts as it). Empty: the company's, else FEEDBACK_DEFAULT_LOCALE"},
    }
    email = {"type": "string", "format": "email", "maxLength": 320}
    optional_text = {"type": ["string", "null"]}
    # Who declined the candidate: the company contact (an e-mail address; required for a rejection).
    person = {"type": ["object", "null"], "properties": {"email": optional_text}}
    from .webhook import EVENT_OUTCOMES, STAGE_SYNONYMS  # here: webhook.py registers routes on import

    rejected_events = [name for name, outcome in EVENT_OUTCOMES.items() if outcome == "rejected"]
    stage_names = sorted({*STAGES, *STAGE_SYNONYMS, *(name.title() for name in (*STAGES, *STAGE_SYNONYMS))})
    experience = _group_schema()
    experience["properties"] = {
        **experience["properties"],
        "decline_reasons": {"type": ["object", "null"], "additionalProperties": {"type": "integer"}},
        "by_stage": {"type": "object", "additionalProperties": _group_schema()},
    }
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "feedback API",
            "version": "1.0.0",
            "description": "Send hiring outcomes, follow feedback requests, read company reports. "
                           "Authenticate with `Authorization: Bearer <key>` (`flask --app wsgi feedback keys create EMAIL`). "
                           "An ATS connector (`feedback connectors create`) posts to /hooks/<kind>/<id> instead, "
                           "signed as that ATS signs, without a key.",
        },
        "servers": [{"url": current_app.config["PUBLIC_BASE_URL"]}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/api/v1/companies": {"get": {
                "operationId": "listCompanies", "summary": "The companies the key may see",
                "responses": {"200": {"description": "Companies", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
                        "type": "object", "required": ["id", "name"],
                        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}}}}}}}, **ERRORS},
            }},
            "/api/v1/outcomes": {"post": {
                "operationId": "createOutcomes",
                "summary": "Import one outcome or a list, with the CSV import's validation and idempotency",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [
                    {"$ref": "#/components/schemas/Outcome"},
                    {"type": "array", "items": {"$ref": "#/components/schemas/Outcome"}, "minItems": 1, "maxItems": 1000},
                    {"type": "object", "required": ["outcomes"], "properties": {
                        "outcomes": {"type": "array", "items": {"$ref": "#/components/schemas/Outcome"},
                                     "minItems": 1, "maxItems": 1000},
                        "skip_invalid": {"type": "boolean"}}},
                ]}, "example": OUTCOME_EXAMPLE}}},
                "responses": {
                    "201": {"description": "Imported", "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/ImportResult"}}}},
                    "422": {"description": "Invalid outcomes; nothing written", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/ValidationErrors"}}}},
                    **ERRORS,
                },
            }},
            "/api/v1/requests": {"get": {
                "operationId": "listRequests", "summary": "Feedback requests with their status, newest first",
                "parameters": [
                    {"name": "status", "in": "query", "schema": {"type": "string", "enum": [
                        "queued", "sent", "answered", "expired", "failed", "cancelled"]}},
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000000}},
                    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                ],
                "responses": {"200": {"description": "A page of requests", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/RequestPage"}}}}, **ERRORS},
            }},
            "/api/v1/companies/{company_id}/report": {"get": {
                "operationId": "companyReport",
                "summary": "The company's aggregate, the same JSON as `feedback report --format json`",
                "parameters": [{"name": "company_id", "in": "path", "required": True,
                                "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}}],
                "responses": {"200": {"description": "The report", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Report"}}}}, **ERRORS},
            }},
            "/api/v1/webhooks/outcome": {"post": {
                "operationId": "outcomeWebhook",
                "summary": ("The operator's webhook: a signed ATS event (rejected, withdrew, offer declined) for an "
                            "existing company, imported like one CSV row (companies use /hooks/generic/<id>)"),
                "security": [],
                "parameters": [
                    {"name": "X-Feedback-Timestamp", "in": "header", "required": True, "schema": {"type": "string"}},
                    {"name": "X-Feedback-Signature", "in": "header", "required": True, "schema": {"type": "string"}},
                ],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/OutcomeEvent"}, "example": EVENT_EXAMPLE}}},
                "responses": {
                    "200": {"description": "Already known", "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/WebhookResult"}}}},
                    "201": {"description": "Imported", "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/WebhookResult"}}}},
                    "409": _error_response("This delivery was already received"),
                    "422": {"description": "Invalid event", "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/ValidationErrors"}}}},
                    "503": _error_response("WEBHOOK_SECRET is not set"),
                    **ERRORS,
                },
            }},
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["status", "title", "detail"], "properties": {
                        "status": {"type": "integer"}, "title": {"type": "string"}, "detail": {"type": "string"}}}}},
                "Outcome": {"type": "object", "properties": outcome_properties,
                            "required": ["candidate_name", "candidate_email", "company", "position", "stage",
                                         "outcome", "decided_on"],
                            "if": {"required": ["outcome"], "properties": {"outcome": {"const": "rejected"}}},
                            "then": {"required": ["company_contact_email"],
                                     "properties": {"company_contact_email": {"type": "string"}}}},
                "ImportResult": {"type": "object", "required": ["batch_id", "received", "created", "requests_queued",
                                                                "already_known", "skipped"], "properties": {
                    "batch_id": {"type": "integer"}, "received": {"type": "integer"}, "created": {"type": "integer"},
                    "requests_queued": {"type": "integer"}, "already_known": {"type": "integer"},
                    "skipped": {"type": "array", "items": {"$ref": "#/components/schemas/ItemError"}}}},
                "ItemError": {"type": "object", "required": ["index", "field", "message"], "properties": {
                    "index": {"type": ["integer", "null"]}, "field": {"type": ["string", "null"]},
                    "message": {"type": "string"}}},
                "ValidationErrors": {"type": "object", "required": ["errors"], "properties": {
                    "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ItemError"}}}},
                "RequestItem": {"type": "object", "required": ["id", "audience", "status", "company", "position"],
                                "properties": {
                    "id": {"type": "integer"}, "audience": {"type": "string", "enum": ["candidate", "company"]},
                    "status": {"type": "string", "enum": ["queued", "sent", "answered", "expired", "failed", "cancelled"]},
                    "company": {"type": "string"}, "position": {"type": "string"},
                    "stage": {"type": "string", "enum": list(STAGES)}, "outcome": {"type": "string", "enum": list(OUTCOMES)},
                    "application_ref": {"type": ["string", "null"]}, "recipient_email": {"type": ["string", "null"]},
                    "created_at": {"type": "string", "format": "date-time"},
                    "first_sent_at": {"type": ["string", "null"], "format": "date-time"},
                    "answered_at": {"type": ["string", "null"], "format": "date-time"}}},
                "RequestPage": {"type": "object", "required": ["items", "page", "per_page", "total"], "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/RequestItem"}},
                    "page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"}}},
                "QuestionFigure": {"type": "object", "required": ["mean", "n"], "properties": {
                    "mean": NULLABLE_NUMBER, "n": {"type": "integer"}}},
                "Report": {"type": "object",
                           "required": ["company", "min_responses", "requests", "candidate_experience",
                                        "follow_up"],
                           "properties": {
                    "company": {"type": "string"}, "min_responses": {"type": "integer"},
                    "requests": {"type": "object", "required": ["candidate", "company"], "additionalProperties": {
                        "type": "object", "required": ["sent", "completed"], "properties": {
                            "sent": {"type": "integer"}, "completed": {"type": "integer"}}}},
                    "candidate_experience": experience,
                    "candidate_feedback": {"type": "object"},
                    "follow_up": _follow_up_schema()},
                    "description": f"Likert question keys: {', '.join(LIKERT_KEYS)}"},
                "OutcomeEvent": {
                    "type": "object", "required": ["event", "occurred_at", "application"], "properties": {
                        "event": {"type": "string", "enum": [*EVENT_OUTCOMES, *OUTCOMES],
                                  "description": "The ATS's event name (or one of our outcomes)"},
                        "occurred_at": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}",
                                        "description": "A date-time such as 2026-10-02T10:00:00Z; its date (the "
                                                       "first ten characters) is the decision date, not in the future"},
                        "application": {"$ref": "#/components/schemas/AtsApplication"}},
                    # A rejection names who declined the candidate: they get the candidate-feedback survey.
                    "if": {"required": ["event"], "properties": {"event": {"enum": rejected_events}}},
                    "then": {"properties": {"application": {"anyOf": [
                        {"required": ["rejected_by"]}, {"required": ["decided_by"]}]}}},
                },
                # null is the same as leaving a field out.
                "AtsApplication": {"type": "object", "required": ["stage", "job", "company", "candidate"],
                                   "properties": {
                    "id": {"type": ["string", "integer", "null"], "maxLength": 200,
                           "description": "Our application_ref"},
                    "stage": {"type": "string", "enum": stage_names, "description": "Matched case-insensitively"},
                    "job": {"type": "object", "required": ["title"], "properties": {"title": text}},
                    "company": {"type": "object", "required": ["name"], "properties": {"name": text}},
                    "candidate": {
                        "type": "object", "required": ["email"], "properties": {
                            "first_name": optional_text, "last_name": optional_text,
                            "name": {**optional_text, "description": "Used when first_name and last_name are empty"},
                            "email": email},
                        "anyOf": [{"required": [key], "properties": {key: text}}
                                  for key in ("first_name", "last_name", "name")]},
                    "rejected_by": person,
                    "decided_by": {**person, "description": "Used when rejected_by has no email"}}},
                "WebhookResult": {"type": "object", "required": ["created", "requests_queued", "already_known"],
                                  "properties": {"created": {"type": "boolean"}, "requests_queued": {"type": "integer"},
                                                 "already_known": {"type": "boolean"}}},
            },
        },
    }
    from .openapi_hooks import hook_paths, hook_schemas  # here: it builds on this module's parts

    document["paths"].update(hook_paths())
    schemas = document["components"]["schemas"]
    schemas.update(hook_schemas(schemas["OutcomeEvent"], schemas["AtsApplication"]))
    return document
