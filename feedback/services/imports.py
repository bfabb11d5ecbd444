"""Importing validated outcomes: applications, their feedback requests and their queued e-mails.

The caller validates the whole file first (services/outcomes_csv.py) and commits once after
``import_outcomes`` returns, so an import is one transaction: all of it or nothing.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import sqlalchemy as sa

from ..extensions import db
from ..models import Application, Candidate, Company, FeedbackRequest, ImportBatch, OutboxMessage, Position
from ..survey.definitions import CANDIDATE_EXPERIENCE, CANDIDATE_FEEDBACK
from ..timeutil import utcnow
from .outcomes_csv import OutcomeRow, fold
from .surveys import ensure_builtin_surveys
from .suppressions import suppressed_addresses

log = logging.getLogger(__name__)
CHUNK_SIZE = 1000


@dataclass
class ImportSummary:
    rows_read: int = 0
    applications_created: int = 0
    requests_queued: int = 0
    rows_known: int = 0
    suppressed: int = 0
    batch_id: int | None = None

    def lines(self) -> list[str]:
        """The summary as the CLI prints it."""
        lines = [
            f"rows read: {self.rows_read}",
            f"new applications: {self.applications_created}",
            f"requests queued: {self.requests_queued}",
            f"rows already known: {self.rows_known}",
        ]
        if self.suppressed:
            lines.append(f"e-mails not queued (address unsubscribed): {self.suppressed}")
        return lines


def _chunks(rows: Iterable[OutcomeRow], size: int) -> Iterator[list[OutcomeRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


class _Directory:
    """Companies, positions and candidates by their folded names, created as needed."""

    def __init__(self) -> None:
        self.companies = {fold(name): id_ for id_, name in db.session.execute(sa.select(Company.id, Company.name))}
        self.positions: dict[tuple[int, str], int] = {}

    def company_id(self, name: str) -> int:
        key = fold(name)
        if key not in self.companies:
            company = Company(name=name)
            db.session.add(company)
            db.session.flush()
            self.companies[key] = company.id
        return self.companies[key]

    def position_id(self, company_id: int, title: str) -> int:
        key = (company_id, fold(title))
        if key not in self.positions:
            for id_, existing in db.session.execute(
                sa.select(Position.id, Position.title).where(Position.company_id == company_id)
            ):
                self.positions[(company_id, fold(existing))] = id_
        if key not in self.positions:
            position = Position(company_id=company_id, title=title)
            db.session.add(position)
            db.session.flush()
            self.positions[key] = position.id
        return self.positions[key]

    def candidate_ids(self, rows: list[OutcomeRow]) -> dict[str, int]:
        names = {row.candidate_email: row.candidate_name for row in rows}
        ids = dict(
            db.session.execute(sa.select(Candidate.email, Candidate.id).where(Candidate.email.in_(list(names)))).all()
        )
        missing = [{"email": email, "name": names[email]} for email in names if email not in ids]
        if missing:
            # Plain executemany, then one look-up: RETURNING with ordered rows is quadratic on SQLite.
            db.session.execute(sa.insert(Candidate.__table__), missing)
            ids.update(dict(db.session.execute(
                sa.select(Candidate.email, Candidate.id).where(Candidate.email.in_([m["email"] for m in missing]))
            ).all()))
        return ids


def _known_identities(rows: list[dict]) -> set[tuple]:
    """Identities among ``rows`` (application column values) that the database already holds."""
    known: set[tuple] = set()
    with_ref = [row for row in rows if row["application_ref"]]
    without_ref = [row for row in rows if not row["application_ref"]]
    if with_ref:
        refs = {row["application_ref"] for row in with_ref}
        companies = {row["company_id"] for row in with_ref}
        for company_id, ref in db.session.execute(
            sa.select(Application.company_id, Application.application_ref).where(
                Application.company_id.in_(companies), Application.application_ref.in_(refs)
            )
        ):
            known.add(("ref", company_id, ref))
    if without_ref:
        candidates = {row["candidate_id"] for row in without_ref}
        for company_id, position_id, candidate_id, decided_on in db.session.execute(
            sa.select(
                Application.company_id, Application.position_id, Application.candidate_id, Application.decided_on
            ).where(Application.candidate_id.in_(candidates), Application.application_ref.is_(None))
        ):
            known.add(("key", company_id, position_id, candidate_id, decided_on))
    return known


def _identity(row: dict) -> tuple:
    if row["application_ref"]:
        return ("ref", row["company_id"], row["application_ref"])
    return ("key", row["company_id"], row["position_id"], row["candidate_id"], row["decided_on"])


def import_outcomes(
    rows: Iterable[OutcomeRow], source: str, on_progress: Callable[[int], None] | None = None,
    rows_in_file: int | None = None,
) -> ImportSummary:
    """Create the applications of valid rows not yet known, their requests and queued e-mails.

    Rows must come from a validation pass without problems (or only the valid ones, with
    --skip-invalid). Flushes; the caller commits.
    """
    surveys = ensure_builtin_surveys()
    batch = ImportBatch(source=source[:300])
    db.session.add(batch)
    db.session.flush()
    summary = ImportSummary(batch_id=batch.id)
    directory = _Directory()

    for chunk in _chunks(rows, CHUNK_SIZE):
        summary.rows_read += len(chunk)
        candidate_ids = directory.candidate_ids(chunk)
        values = []
        for row in chunk:
            company_id = directory.company_id(row.company)
            values.append(
                {
                    "company_id": company_id,
                    "position_id": directory.position_id(company_id, row.position),
                    "candidate_id": candidate_ids[row.candidate_email],
                    "import_batch_id": batch.id,
                    "stage": row.stage,
                    "outcome": row.outcome,
                    "decided_on": row.decided_on,
                    "application_ref": row.application_ref,
                    "contact_email": row.company_contact_email,
                    "_candidate_email": row.candidate_email,
                }
            )
        known = _known_identities(values)
        new = [value for value in values if _identity(value) not in known]
        summary.rows_known += len(values) - len(new)
        if new:
            _create_applications(new, surveys, summary)
        if on_progress:
            on_progress(len(chunk))

    # With --skip-invalid the file held more rows than were imported: the batch records them all.
    summary.rows_read = rows_in_file if rows_in_file is not None else summary.rows_read
    batch.rows_read = summary.rows_read
    batch.applications_created = summary.applications_created
    batch.requests_queued = summary.requests_queued
    batch.rows_known = summary.rows_known
    db.session.flush()
    log.info(
        "import batch %s from %s: %s rows, %s new applications, %s requests queued",
        batch.id, source, summary.rows_read, summary.applications_created, summary.requests_queued,
    )
    return summary


def _create_applications(new: list[dict], surveys: dict, summary: ImportSummary) -> None:
    now = utcnow()
    # Core inserts of the tables (one multi-row statement per batch), not the ORM's row-by-row path.
    db.session.execute(
        sa.insert(Application.__table__),
        [{k: v for k, v in value.items() if not k.startswith("_")} | {"created_at": now} for value in new],
    )
    # Read the new ids back by each application's identity (unique in the schema), not by position.
    created = {
        _identity(row._asdict()): row.id
        for row in db.session.execute(
            sa.select(Application.id, Application.company_id, Application.position_id, Application.candidate_id,
                      Application.decided_on, Application.application_ref)
            .where(Application.candidate_id.in_({value["candidate_id"] for value in new}))
        )
    }
    application_ids = [created[_identity(value)] for value in new]
    summary.applications_created += len(application_ids)

    requests = []
    for application_id, value in zip(application_ids, new):
        requests.append(
            {
                "application_id": application_id,
                "survey_id": surveys[CANDIDATE_EXPERIENCE].id,
                "audience": "candidate",
                "recipient_email": value["_candidate_email"],
                "created_at": now,
            }
        )
        if value["outcome"] == "rejected":
            requests.append(
                {
                    "application_id": application_id,
                    "survey_id": surveys[CANDIDATE_FEEDBACK].id,
                    "audience": "company",
                    "recipient_email": value["contact_email"],
                    "created_at": now,
                }
            )
    db.session.execute(sa.insert(FeedbackRequest.__table__), requests)
    by_application = {
        (application_id, audience): request_id
        for request_id, application_id, audience in db.session.execute(
            sa.select(FeedbackRequest.id, FeedbackRequest.application_id, FeedbackRequest.audience)
            .where(FeedbackRequest.application_id.in_(application_ids))
        )
    }
    request_ids = [by_application[(request["application_id"], request["audience"])] for request in requests]

    suppressed = suppressed_addresses(request["recipient_email"] for request in requests)
    messages = [
        {
            "kind": "invitation",
            "request_id": request_id,
            "to_address": request["recipient_email"],
            "status": "queued",
            "next_attempt_at": now,
            "created_at": now,
        }
        for request_id, request in zip(request_ids, requests)
        if request["recipient_email"] not in suppressed
    ]
    summary.suppressed += len(requests) - len(messages)
    if messages:
        db.session.execute(sa.insert(OutboxMessage.__table__), messages)
    summary.requests_queued += len(messages)
