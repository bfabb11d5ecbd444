"""Erasure and retention: a person's data goes, anonymous aggregates stay correct.

What stays: the application's company, position, stage, outcome and date, and each response's
numbers and choices (they carry no name). What goes: names, addresses, free text written by or
about the person, rendered e-mails, and the link from the person to their answers. The
suppression list is kept: it holds only keyed hashes, and it is what keeps an objection honoured.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    AdviceReview,
    Answer,
    Application,
    AuditEvent,
    Candidate,
    FeedbackRequest,
    OutboxMessage,
    Question,
    Response,
    User,
)
from ..names import normalise_address
from ..tokens import address_hash
from .uploads import discard_stale_uploads, discard_uploads_naming

log = logging.getLogger(__name__)
ERASED_PERSON = "erased person"
ERASED_CONTACT = ""  # keeps the "a rejection names a contact" constraint without the address
FREE_TEXT_KEYS = ("improve", "strengthen")


@dataclass
class ErasureResult:
    candidates: int = 0
    applications: int = 0
    responses_unlinked: int = 0
    free_texts_removed: int = 0
    contact_addresses_removed: int = 0
    messages_removed: int = 0
    logins_removed: int = 0
    audit_entries_anonymised: int = 0
    uploads_removed: int = 0


def _requests_of(application_ids: sa.Select) -> sa.Select:
    return sa.select(FeedbackRequest.id).where(FeedbackRequest.application_id.in_(application_ids))


def _erase_candidates(candidate_ids: list[int], result: ErasureResult) -> None:
    if not candidate_ids:
        return
    _erase_applications(sa.select(Application.id).where(Application.candidate_id.in_(candidate_ids)), result)
    result.messages_removed += db.session.execute(
        sa.delete(OutboxMessage).where(OutboxMessage.candidate_id.in_(candidate_ids))
        .execution_options(synchronize_session=False)).rowcount
    result.candidates += db.session.execute(
        sa.update(Candidate).where(Candidate.id.in_(candidate_ids)).values(name=None, email=None)
        .execution_options(synchronize_session=False)).rowcount


def _erase_applications(applications: sa.Select, result: ErasureResult) -> None:
    """What identifies the candidate in these applications: free text, mail, the tie of a response
    to its request, the candidate's name and the contact of a non-rejection."""
    requests = _requests_of(applications)
    responses = sa.select(Response.id).where(Response.request_id.in_(requests))
    free_text = sa.select(Answer.id).join(Question, Question.id == Answer.question_id).where(
        Answer.response_id.in_(responses), Question.key.in_(FREE_TEXT_KEYS))
    db.session.execute(
        sa.delete(AdviceReview).where(AdviceReview.answer_id.in_(free_text)).execution_options(synchronize_session=False))
    result.free_texts_removed += db.session.execute(
        sa.delete(Answer).where(Answer.id.in_(free_text)).execution_options(synchronize_session=False)).rowcount
    result.messages_removed += db.session.execute(
        sa.delete(OutboxMessage).where(OutboxMessage.request_id.in_(requests))
        .execution_options(synchronize_session=False)).rowcount
    # answered_at was set to the response's submitted_at: keep only the day, or the two would tie up again.
    for request_id, answered_at in db.session.execute(
            sa.select(FeedbackRequest.id, FeedbackRequest.answered_at)
            .where(FeedbackRequest.id.in_(requests), FeedbackRequest.answered_at.is_not(None))).all():
        db.session.execute(
            sa.update(FeedbackRequest).where(FeedbackRequest.id == request_id)
            .values(answered_at=answered_at.replace(hour=0, minute=0, second=0, microsecond=0))
            .execution_options(synchronize_session=False))
    result.responses_unlinked += db.session.execute(
        sa.update(Response).where(Response.request_id.in_(requests)).values(request_id=None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.execute(
        sa.update(FeedbackRequest).where(FeedbackRequest.application_id.in_(applications))
        .values(recipient_email=None).execution_options(synchronize_session=False))
    result.applications += db.session.execute(
        sa.update(Application).where(Application.id.in_(applications))
        .values(contact_email=sa.case((Application.outcome == "rejected", ERASED_CONTACT), else_=None),
                candidate_name=None)
        .execution_options(synchronize_session=False)).rowcount


def erase_applications_at_company(company_id: int, application_refs: list[str]) -> int:
    """Erase the candidates of these applications (by ``application_ref``) at this company only, as
    erase_candidate_at_company does. Returns the applications erased. Flushes."""
    if not application_refs:
        return 0
    candidate_ids = set(db.session.scalars(sa.select(Application.candidate_id).where(
        Application.company_id == company_id, Application.application_ref.in_(application_refs))))
    return sum(_erase_at_company(company_id, candidate_id) for candidate_id in sorted(candidate_ids))


def erase_candidate_at_company(company_id: int, email: str) -> int:
    """An ATS anonymised a candidate (Greenhouse's candidate_anonymized): erase what identifies them
    in that company's applications only; the person's record goes too when no other company has an
    application of theirs. Returns the applications erased. Flushes; the caller commits."""
    try:
        address = normalise_address(email)
    except ValueError:
        address = email.strip().lower()
    candidate_id = db.session.scalar(sa.select(Candidate.id).where(Candidate.email == address)) if address else None
    if candidate_id is None:
        return 0
    return _erase_at_company(company_id, candidate_id)


def _erase_at_company(company_id: int, candidate_id: int) -> int:
    result = ErasureResult()
    _erase_applications(sa.select(Application.id).where(Application.candidate_id == candidate_id,
                                                        Application.company_id == company_id), result)
    elsewhere = db.session.scalar(sa.select(sa.func.count()).select_from(Application).where(
        Application.candidate_id == candidate_id, Application.company_id != company_id))
    if not elsewhere:
        _erase_candidates([candidate_id], ErasureResult())
    db.session.flush()
    log.info("erasure at company %s of candidate %s: %s", company_id, candidate_id, result)
    return result.applications


def _erase_contact(address: str, result: ErasureResult) -> None:
    """A company contact's address goes from applications, requests and mail; their answers stay."""
    result.contact_addresses_removed += db.session.execute(
        sa.update(Application).where(sa.func.lower(Application.contact_email) == address)
        .values(contact_email=ERASED_CONTACT).execution_options(synchronize_session=False)).rowcount
    requests = sa.select(FeedbackRequest.id).where(sa.func.lower(FeedbackRequest.recipient_email) == address)
    result.messages_removed += db.session.execute(
        sa.delete(OutboxMessage).where(sa.or_(OutboxMessage.request_id.in_(requests),
                                              sa.func.lower(OutboxMessage.to_address) == address))
        .execution_options(synchronize_session=False)).rowcount
    db.session.execute(
        sa.update(FeedbackRequest).where(FeedbackRequest.id.in_(requests)).values(recipient_email=None)
        .execution_options(synchronize_session=False))


def _anonymise_audit(address: str) -> int:
    """The audit log keeps what happened, not who: the address as actor or target reads "erased person"."""
    changed = 0
    for column in (AuditEvent.actor, AuditEvent.target):
        changed += db.session.execute(
            sa.update(AuditEvent).where(sa.func.lower(column) == address).values({column.key: ERASED_PERSON})
            .execution_options(synchronize_session=False)).rowcount
    return changed


def erase_person(email: str) -> ErasureResult:
    """Remove everything that identifies the person with this address. Flushes; the caller commits."""
    try:
        address = normalise_address(email)
    except ValueError:
        address = email.strip().lower()
    result = ErasureResult()
    candidate_ids = list(db.session.scalars(sa.select(Candidate.id).where(Candidate.email == address)))
    _erase_candidates(candidate_ids, result)
    _erase_contact(address, result)
    result.logins_removed += db.session.execute(
        sa.delete(User).where(User.email == address).execution_options(synchronize_session=False)).rowcount
    result.audit_entries_anonymised = _anonymise_audit(address)
    result.uploads_removed = discard_uploads_naming(address)
    db.session.flush()
    log.info("erasure of %s: %s", address_hash(address)[:12], result)
    return result


def purge_older_than(cutoff: date) -> ErasureResult:
    """Retention: erase the people whose every application was decided before ``cutoff``. Flushes."""
    newer = sa.select(Application.candidate_id).where(Application.decided_on >= cutoff)
    candidate_ids = list(db.session.scalars(
        sa.select(Candidate.id).where(Candidate.email.is_not(None), Candidate.id.not_in(newer),
                                      Candidate.id.in_(sa.select(Application.candidate_id)))))
    result = ErasureResult()
    for start in range(0, len(candidate_ids), 500):
        _erase_candidates(candidate_ids[start:start + 500], result)
    old = sa.select(Application.id).where(Application.decided_on < cutoff)
    result.contact_addresses_removed += db.session.execute(
        sa.update(Application).where(Application.id.in_(old), Application.contact_email != ERASED_CONTACT)
        .values(contact_email=ERASED_CONTACT).execution_options(synchronize_session=False)).rowcount
    db.session.execute(
        sa.update(FeedbackRequest).where(FeedbackRequest.application_id.in_(old), FeedbackRequest.audience == "company")
        .values(recipient_email=None).execution_options(synchronize_session=False))
    result.uploads_removed = discard_stale_uploads()
    db.session.flush()
    log.info("retention purge before %s: %s", cutoff, result)
    return result
