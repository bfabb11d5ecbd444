"""The data model, one module per aggregate; imported here so Alembic sees every table."""
from .accounts import ROLES, User, recruiter_companies
from .api import (
    CONNECTOR_EVENT_STATUSES,
    CONNECTOR_KINDS,
    ApiKey,
    Connector,
    ConnectorEvent,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)
from .audit import AuditEvent
from .moderation import REVIEW_STATUSES, AdviceReview
from .outbox import (
    MAIL_KINDS,
    MAIL_STATUSES,
    NOTICE_KINDS,
    REQUEST_KINDS,
    SUPPRESSION_SCOPES,
    AppKey,
    OutboxMessage,
    Suppression,
)
from .outcomes import OUTCOMES, STAGE_LABELS, STAGES, Application, Candidate, Company, ImportBatch, Position
from .requests import FeedbackRequest, overdue_feedback
from .responses import Answer, AnswerTally, Response
from .surveys import AUDIENCES, QUESTION_KINDS, Question, Survey

__all__ = [
    "AUDIENCES", "ApiKey", "AppKey", "CONNECTOR_EVENT_STATUSES", "CONNECTOR_KINDS", "Connector", "ConnectorEvent",
    "WebhookDelivery", "WebhookEndpoint", "WebhookMessage", "AuditEvent", "REVIEW_STATUSES", "AdviceReview", "ROLES", "User", "recruiter_companies", "MAIL_KINDS", "MAIL_STATUSES", "NOTICE_KINDS", "REQUEST_KINDS", "SUPPRESSION_SCOPES", "OUTCOMES", "QUESTION_KINDS", "STAGES", "STAGE_LABELS",
    "Answer", "AnswerTally", "Application", "Candidate", "Company", "FeedbackRequest", "ImportBatch", "OutboxMessage",
    "Position", "Question", "Response", "Suppression", "Survey", "overdue_feedback",
]
