"""What importing a checked file would do, told before it is done: per company, the applications
that are new and those already known, the companies and positions it would create, and the
spellings of company names that look like a slip (two spellings of one name, or a new name
close to one that exists).

It reads only, with the identity rules of the import (CONTRACT §4): an application is known by its
``application_ref`` when it has one, else by company, position, candidate and decision date.
"""
from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

import sqlalchemy as sa

from ..extensions import db
from ..models import Application, Candidate, Company, ImportBatch, Position
from ..names import fold
from .outcomes_csv import OutcomeRow

CHUNK_SIZE = 1000
SIMILARITY = 0.85  # difflib's ratio above which two different company names look like one


@dataclass
class CompanyPlan:
    name: str  # as stored, or as first spelled in the file for a new company
    exists: bool
    rows: int = 0
    new: int = 0
    known: int = 0
    new_positions: dict[str, str] = field(default_factory=dict)  # folded title -> as first spelled
    spellings: Counter = field(default_factory=Counter)  # the file's spellings that differ from ``name``
    similar_to: list[str] = field(default_factory=list)  # existing or other names close to a new one


@dataclass
class ImportPreview:
    companies: list[CompanyPlan]
    new: int = 0
    known: int = 0
    known_batches: list[tuple[int, str]] = field(default_factory=list)  # where the known rows came from

    @property
    def all_known(self) -> bool:
        return self.new == 0 and self.known > 0

    @property
    def new_companies(self) -> list[CompanyPlan]:
        return [plan for plan in self.companies if not plan.exists]

    @property
    def warnings(self) -> list[str]:
        """The names worth a second look, one sentence each."""
        told = []
        for plan in self.companies:
            if plan.spellings:
                others = ", ".join(f"\u201c{spelling}\u201d ({count} row{'' if count == 1 else 's'})"
                                   for spelling, count in sorted(plan.spellings.items()))
                told.append(f"\u201c{plan.name}\u201d is also spelled {others} in the file; "
                            f"they are imported as \u201c{plan.name}\u201d.")
            if plan.similar_to:
                names = " or ".join(f"\u201c{name}\u201d" for name in plan.similar_to)
                told.append(f"\u201c{plan.name}\u201d would be a new company, but looks like {names}. "
                            "Check the spelling before importing.")
        return told


def _chunks(rows: Iterable[OutcomeRow]) -> Iterator[list[OutcomeRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, CHUNK_SIZE)):
        yield chunk


def preview_import(rows: Iterable[OutcomeRow], comparable_names: Iterable[str] | None = None) -> ImportPreview:
    """What importing ``rows`` (valid rows of a checked file) would do.

    ``comparable_names`` are the company names a new name is compared with for near-duplicates: the
    companies the reader may see (None: every company), so that the hint never names another tenant.
    """
    stored = {fold(name): (id_, name) for id_, name in db.session.execute(sa.select(Company.id, Company.name))}
    plans: dict[str, CompanyPlan] = {}
    positions: dict[int, set[str]] = {}  # folded titles per existing company, loaded when first needed
    batches: Counter = Counter()
    for chunk in _chunks(rows):
        known = _known_in(chunk, stored)
        for row in chunk:
            key = fold(row.company)
            found = stored.get(key)
            plan = plans.get(key)
            if plan is None:
                plan = plans[key] = CompanyPlan(name=found[1] if found else row.company, exists=found is not None)
            plan.rows += 1
            if row.company != plan.name:
                plan.spellings[row.company] += 1
            if found is not None and found[0] not in positions:
                positions[found[0]] = {fold(title) for title in db.session.scalars(
                    sa.select(Position.title).where(Position.company_id == found[0]))}
            titles = positions.setdefault(found[0], set()) if found else None
            title = fold(row.position)
            if (titles is None or title not in titles) and title not in plan.new_positions:
                plan.new_positions[title] = row.position
            batch_id = known.get(id(row))
            if batch_id is not None:
                plan.known += 1
                batches[batch_id] += 1
            else:
                plan.new += 1
    _near_duplicates(plans, stored, comparable_names)
    preview = ImportPreview(companies=sorted(plans.values(), key=lambda plan: plan.name.casefold()))
    preview.new = sum(plan.new for plan in plans.values())
    preview.known = sum(plan.known for plan in plans.values())
    named = [batch for batch in batches if batch]
    if named:
        sources = dict(db.session.execute(sa.select(ImportBatch.id, ImportBatch.source).where(ImportBatch.id.in_(named))).all())
        preview.known_batches = [(batch, sources.get(batch, "")) for batch, _count in batches.most_common(3) if batch]
    return preview


def _known_in(chunk: list[OutcomeRow], stored: dict[str, tuple[int, str]]) -> dict[int, int]:
    """The rows of ``chunk`` whose application exists: id(row) -> its import batch (0 when none)."""
    company_of = {id(row): stored[fold(row.company)][0] for row in chunk if fold(row.company) in stored}
    if not company_of:
        return {}
    known: dict[int, int] = {}
    with_ref = [row for row in chunk if row.application_ref and id(row) in company_of]
    if with_ref:
        pairs = {(company_of[id(row)], row.application_ref) for row in with_ref}
        found = {(company, ref): batch or 0 for company, ref, batch in db.session.execute(
            sa.select(Application.company_id, Application.application_ref, Application.import_batch_id)
            .where(sa.tuple_(Application.company_id, Application.application_ref).in_(pairs)))}
        for row in with_ref:
            if (batch := found.get((company_of[id(row)], row.application_ref))) is not None:
                known[id(row)] = batch
    by_key = [row for row in chunk if not row.application_ref and id(row) in company_of]
    if by_key:
        candidates = dict(db.session.execute(sa.select(Candidate.email, Candidate.id)
                                             .where(Candidate.email.in_({row.candidate_email for row in by_key}))).all())
        ids = {candidates[row.candidate_email] for row in by_key if row.candidate_email in candidates}
        if ids:
            found = {(company, fold(title), candidate, decided): batch or 0
                     for company, title, candidate, decided, batch in db.session.execute(
                         sa.select(Application.company_id, Position.title, Application.candidate_id,
                                   Application.decided_on, Application.import_batch_id)
                         .join(Position, Position.id == Application.position_id)
                         .where(Application.candidate_id.in_(ids), Application.application_ref.is_(None)))}
            for row in by_key:
                key = (company_of[id(row)], fold(row.position), candidates.get(row.candidate_email), row.decided_on)
                if (batch := found.get(key)) is not None:
                    known[id(row)] = batch
    return known


def _near_duplicates(plans: dict[str, CompanyPlan], stored: dict[str, tuple[int, str]],
                     comparable_names: Iterable[str] | None) -> None:
    """Mark each new company whose name is close to a company the reader may see or to another name
    of the same file."""
    visible = [name for _id, name in stored.values()] if comparable_names is None else list(comparable_names)
    for key, plan in plans.items():
        if plan.exists:
            continue
        others = {fold(name): name for name in visible}
        others.update({other: other_plan.name for other, other_plan in plans.items() if other != key})
        close = difflib.get_close_matches(key, list(others), n=2, cutoff=SIMILARITY)
        plan.similar_to = [others[match] for match in close]
