"""Importing validated outcomes: applications, their feedback requests and their queued e-mails.

The caller validates the whole file first (services/outcomes_csv.py) and commits once after
``import_outcomes`` returns, so an import is one transaction: all of it or nothing.

Rows are written in chunks, each with a fixed handful of statements whatever its size: one look-up
of the candidates already known, one of the applications already known, one bulk insert per
table. New rows get their ids before they are inserted (``bulk.IdAllocator``), so nothing is read back.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql

from ..extensions import db
from ..models import Application, Candidate, Company, FeedbackRequest, ImportBatch, OutboxMessage, Position, Suppression
from ..names import fold
from ..surveys.definitions import CANDIDATE_EXPERIENCE, CANDIDATE_FEEDBACK
from ..timeutil import utcnow
from .bulk import IdAllocator, any_of, bulk_insert
from .outcomes_csv import OutcomeRow
from .suppressions import suppressed_addresses
from .surveys import ensure_builtin_surveys

log = logging.getLogger(__name__)
CHUNK_SIZE = 2000
APPLICATION_COLUMNS = ("id", "company_id", "position_id", "candidate_id", "import_batch_id", "stage", "outcome",
                       "decided_on", "application_ref", "contact_email", "created_at", "candidate_name", "locale")
REQUEST_COLUMNS = ("id", "application_id", "company_id", "survey_id", "audience", "recipient_email", "created_at")
MESSAGE_COLUMNS = ("kind", "request_id", "to_address", "status", "next_attempt_at", "created_at")


@dataclass
class ImportSummary:
    rows_read: int = 0
    applications_created: int = 0
    requests_queued: int = 0
    rows_known: int = 0
    suppressed: int = 0
    resurvey_skipped: int = 0
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
        if self.resurvey_skipped:
            lines.append(f"candidate surveys not sent (surveyed by that company lately): {self.resurvey_skipped}")
        return lines


def _chunks(rows: Iterable[OutcomeRow], size: int) -> Iterator[list[OutcomeRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


class _Directory:
    """Companies, positions and candidates by their folded names, created as needed."""

    def __init__(self, ids: IdAllocator) -> None:
        self.ids = ids
        self.companies = {fold(name): id_ for id_, name in db.session.execute(sa.select(Company.id, Company.name))}
        self.positions: dict[tuple[int, str], int] = {}
        self.by_text: dict[tuple, int] = {}  # the same spellings repeat on many rows: fold each once

    def company_id(self, name: str) -> int:
        if (id_ := self.by_text.get((name,))) is None:
            key = fold(name)
            if key not in self.companies:
                company = Company(name=name)
                db.session.add(company)
                db.session.flush()
                self.companies[key] = company.id
            id_ = self.by_text[(name,)] = self.companies[key]
        return id_

    def position_id(self, company_id: int, title: str) -> int:
        if (id_ := self.by_text.get((company_id, title))) is None:
            id_ = self.by_text[(company_id, title)] = self._position_id(company_id, title)
        return id_

    def _position_id(self, company_id: int, title: str) -> int:
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

    def candidate_ids(self, rows: list[OutcomeRow], now: datetime) -> tuple[dict[str, int], set[int]]:
        """Each row's candidate id by address (new candidates created), and the ids that existed before."""
        names = {row.candidate_email: row.candidate_name for row in rows}
        # A candidate's own language is that of their latest row that names one (their notices use it).
        locales = {row.candidate_email: row.locale for row in rows if row.locale}
        ids = dict(
            db.session.execute(sa.select(Candidate.email, Candidate.id).where(any_of(Candidate.email, names))).all()
        )
        existing = set(ids.values())
        missing = [email for email in names if email not in ids]
        new_ids = self.ids.take(Candidate.__table__, len(missing))
        bulk_insert(Candidate.__table__, ("id", "email", "name", "created_at", "locale"),
                [(id_, email, names[email], now, locales.get(email)) for id_, email in zip(new_ids, missing)])
        for locale in set(locales.values()):
            known = [email for email in ids if locales.get(email) == locale]
            if known:
                db.session.execute(sa.update(Candidate).where(any_of(Candidate.email, known), Candidate.locale.is_distinct_from(locale))
                                   .values(locale=locale).execution_options(synchronize_session=False))
        ids.update(zip(missing, new_ids))
        return ids, existing


def _identity(values: tuple) -> tuple:
    """An application's identity (CONTRACT §4) from its values (APPLICATION_COLUMNS without the id)."""
    company_id, position_id, candidate_id, _batch, _stage, _outcome, decided_on, ref = values[:8]
    if ref:
        return ("ref", company_id, ref)
    return ("key", company_id, position_id, candidate_id, decided_on)


def _known_identities(rows: list[tuple], existing_candidates: set[int]) -> set[tuple]:
    """Identities among ``rows`` (application values without id) that the database already holds.

    A natural key can only be known for a candidate who existed before this chunk.
    """
    known: set[tuple] = set()
    refs = {(row[0], row[7]) for row in rows if row[7]}
    if refs:
        known.update(("ref", company_id, ref) for company_id, ref in _known_refs(refs))
    candidates = {row[2] for row in rows if not row[7] and row[2] in existing_candidates}
    if candidates:
        for company_id, position_id, candidate_id, decided_on in db.session.execute(
            sa.select(
                Application.company_id, Application.position_id, Application.candidate_id, Application.decided_on
            ).where(any_of(Application.candidate_id, candidates), Application.application_ref.is_(None))
        ):
            known.add(("key", company_id, position_id, candidate_id, decided_on))
    return known


def _known_refs(pairs: set[tuple[int, str]]) -> sa.Result:
    """Those (company id, application ref) pairs that the database holds, one index look-up each.

    The pairs are joined as a table (``company_id IN … AND application_ref IN …`` would probe every
    company with every ref): VALUES on SQLite, two arrays (one parameter each) on PostgreSQL. The
    partial unique index on (company_id, application_ref) serves the look-ups.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        companies, refs = zip(*pairs)
        keys = sa.func.unnest(
            sa.bindparam(None, list(companies), type_=postgresql.ARRAY(sa.Integer)),
            sa.bindparam(None, list(refs), type_=postgresql.ARRAY(sa.String)),
        ).table_valued("company_id", "application_ref").render_derived(name="keys")
    else:
        keys = sa.values(sa.column("company_id", sa.Integer), sa.column("application_ref", sa.String),
                         name="keys").data(list(pairs)).cte("keys")
    return db.session.execute(
        sa.select(Application.company_id, Application.application_ref)
        .join(keys, sa.and_(Application.company_id == keys.c.company_id,
                            Application.application_ref == keys.c.application_ref))
        .where(Application.application_ref.is_not(None))
    )


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
    ids = IdAllocator()
    directory = _Directory(ids)

    for chunk in _chunks(rows, CHUNK_SIZE):
        summary.rows_read += len(chunk)
        now = utcnow()
        candidate_ids, existing_candidates = directory.candidate_ids(chunk, now)
        applications = []  # (application values without id, the candidate's address)
        for row in chunk:
            company_id = directory.company_id(row.company)
            applications.append(((
                company_id, directory.position_id(company_id, row.position), candidate_ids[row.candidate_email],
                batch.id, row.stage, row.outcome, row.decided_on, row.application_ref, row.company_contact_email,
                now, row.candidate_name, row.locale,
            ), row.candidate_email))
        known = _known_identities([values for values, _ in applications], existing_candidates)
        new = [(values, email) for values, email in applications if _identity(values) not in known]
        summary.rows_known += len(applications) - len(new)
        if new:
            _create_applications(new, surveys, ids, summary, now, existing_candidates)
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


def _recently_surveyed(pairs: set[tuple[int, int]], now: datetime) -> set[tuple[int, int]]:
    """Those (company, candidate) pairs whose candidate-experience survey went out, or waits to, within
    FEEDBACK_RESURVEY_MONTHS (0: the rule is off)."""
    months = current_app.config["FEEDBACK_RESURVEY_MONTHS"]
    if not pairs or months <= 0:
        return set()
    cutoff = now - timedelta(days=round(months * 30.44))
    found = db.session.execute(
        sa.select(Application.company_id, Application.candidate_id)
        .join(FeedbackRequest, FeedbackRequest.application_id == Application.id)
        .where(FeedbackRequest.audience == "candidate", FeedbackRequest.cancelled_at.is_(None),
               Application.candidate_id.in_({candidate for _company, candidate in pairs}),
               sa.func.coalesce(FeedbackRequest.first_sent_at, FeedbackRequest.created_at) >= cutoff))
    return {tuple(row) for row in found} & pairs


def _create_applications(new: list[tuple[tuple, str]], surveys: dict, ids: IdAllocator, summary: ImportSummary,
                         now: datetime, existing_candidates: set[int]) -> None:
    """Insert the new applications (values, candidate address), their requests and queued e-mails."""
    application_ids = ids.take(Application.__table__, len(new))
    applications = [(id_, *values) for id_, (values, _email) in zip(application_ids, new)]
    bulk_insert(Application.__table__, APPLICATION_COLUMNS, applications)
    summary.applications_created += len(applications)

    candidate_survey, company_survey = surveys[CANDIDATE_EXPERIENCE].id, surveys[CANDIDATE_FEEDBACK].id
    requests = []  # REQUEST_COLUMNS without the id
    # Only a candidate known before this chunk can have been surveyed lately (a new one: in this import).
    surveyed = _recently_surveyed({(app[1], app[3]) for app in applications if app[3] in existing_candidates}, now)
    resurvey = current_app.config["FEEDBACK_RESURVEY_MONTHS"] > 0
    for application, (_values, candidate_email) in zip(applications, new):
        application_id, company_id, candidate_id, outcome, contact_email = (application[i] for i in (0, 1, 3, 6, 9))
        if (company_id, candidate_id) in surveyed:
            summary.resurvey_skipped += 1
        else:
            requests.append((application_id, company_id, candidate_survey, "candidate", candidate_email, now))
            if resurvey:
                surveyed.add((company_id, candidate_id))
        if outcome == "rejected":
            requests.append((application_id, company_id, company_survey, "company", contact_email, now))
    request_ids = ids.take(FeedbackRequest.__table__, len(requests))
    requests = [(id_, *values) for id_, values in zip(request_ids, requests)]
    bulk_insert(FeedbackRequest.__table__, REQUEST_COLUMNS, requests)

    suppressed = _suppressed([request[5] for request in requests])
    messages = [("invitation", request[0], request[5], "queued", now, now)
                for request in requests if request[5] not in suppressed]
    summary.suppressed += len(requests) - len(messages)
    bulk_insert(OutboxMessage.__table__, MESSAGE_COLUMNS, messages)
    summary.requests_queued += len(messages)


def _suppressed(addresses: list[str]) -> set[str]:
    """Those of ``addresses`` on the suppression list; an empty list spares hashing each address."""
    if db.session.scalar(sa.select(Suppression.id).limit(1)) is None:
        return set()
    return suppressed_addresses(addresses)
