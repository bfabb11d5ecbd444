"""Reading and validating an outcomes CSV (CONTRACT §4), one row at a time.

Pure: no database. The CLI import, the browser upload and the API all validate through here, so a
file is judged the same way wherever it comes from.
"""
from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TextIO

from email_validator import EmailNotValidError

from ..i18n import SHIPPED, UnknownLocale, shipped_tag
from ..models import OUTCOMES, STAGES
from ..names import fold, normalise_address
from ..text_rules import invisible_problem, mailable_problem, person_or_role_problem

REQUIRED_COLUMNS = ("candidate_name", "candidate_email", "company", "position", "stage", "outcome", "decided_on")
OPTIONAL_COLUMNS = ("company_contact_email", "application_ref", "locale")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
MAX_LENGTHS = {
    "candidate_name": 200,
    "candidate_email": 320,
    "company": 200,
    "company_contact_email": 320,
    "position": 200,
    "application_ref": 200,
}
PERSON_AND_ROLE_COLUMNS = ("candidate_name", "position")
ADDRESS_COLUMNS = ("candidate_email", "company_contact_email")
FOLDED_COLUMNS = ("candidate_name", "company", "position")
_SHORTEST_LIMIT = min(MAX_LENGTHS.values())
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

csv.field_size_limit(1024 * 1024)
MAX_HEADER_LENGTH = 64 * 1024  # the column names and nothing else


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.column}: {self.message}"


@dataclass(frozen=True)
class OutcomeRow:
    """One valid outcome, with addresses normalised (lower case) and the date parsed."""

    line: int
    candidate_name: str
    candidate_email: str
    company: str
    company_contact_email: str | None
    position: str
    stage: str
    outcome: str
    decided_on: date
    application_ref: str | None
    locale: str | None = None  # a shipped BCP 47 tag (feedback/i18n.py); none: the company's or the default

    @property
    def identity(self) -> tuple:
        """The application's identity (CONTRACT §4): the ATS id when given, else the natural key."""
        company = fold(self.company)
        if self.application_ref:
            return ("ref", company, self.application_ref)
        return ("key", company, fold(self.position), self.candidate_email, self.decided_on.isoformat())


def header_name(raw: str) -> str:
    """A header cell as a column name: trimmed, lower case; "Candidate Name" reads as candidate_name."""
    return re.sub(r"[\s-]+", "_", raw.lstrip("\ufeff").strip().lower())


def _sniff_delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _check_value(line: int, column: str, value: str, problems: list[Problem]) -> bool:
    problem = invisible_problem(value)
    if problem is None and column in PERSON_AND_ROLE_COLUMNS:
        problem = person_or_role_problem(value)
    if problem:
        problems.append(Problem(line, column, problem))
        return False
    limit = MAX_LENGTHS.get(column)
    if limit and len(value) > limit:
        problems.append(Problem(line, column, f"is longer than {limit} characters"))
        return False
    return True


def _address(line: int, column: str, value: str, smtputf8: bool, problems: list[Problem]) -> str | None:
    try:
        address = normalise_address(value)
    except EmailNotValidError as exc:
        problems.append(Problem(line, column, f"{value!r} is not a valid e-mail address ({exc})"))
        return None
    problem = mailable_problem(address, smtputf8)
    if problem:
        problems.append(Problem(line, column, f"{value!r} {problem}"))
        return None
    return address


def _decided_on(line: int, value: str, today: date, problems: list[Problem]) -> date | None:
    try:
        if not ISO_DATE.match(value):
            raise ValueError
        parsed = date.fromisoformat(value)
    except ValueError:
        problems.append(Problem(line, "decided_on", f"{value!r} is not a date in the form YYYY-MM-DD"))
        return None
    if parsed > today:
        problems.append(Problem(line, "decided_on", f"{value} is in the future"))
        return None
    return parsed


def validate_record(line: int, record: dict[str, str], today: date,
                    smtputf8: bool = False) -> tuple[OutcomeRow | None, list[Problem]]:
    """Check one record (column -> raw text); return the row or the problems found in it.

    ``smtputf8``: the mail server takes addresses with non-ASCII letters before the @.
    """
    problems: list[Problem] = []
    values: dict[str, str] = {}
    texts = [(column, (record.get(column) or "").strip()) for column in COLUMNS]
    # Two searches over the whole row: only a row with a control character, a sign of a link or
    # markup in a person or role field, or a value past the shortest limit needs _check_value's
    # look at each value.
    suspect = (invisible_problem("".join([value for _column, value in texts])) is not None
               or person_or_role_problem("\n".join([record.get(column) or "" for column in PERSON_AND_ROLE_COLUMNS]))
               is not None)
    for column, value in texts:
        if value:
            if (suspect or len(value) > _SHORTEST_LIMIT) and not _check_value(line, column, value, problems):
                continue
        elif column in REQUIRED_COLUMNS:
            problems.append(Problem(line, column, "is required"))
            continue
        # names, companies and positions: a run of spaces and tabs is one space
        values[column] = " ".join(value.split()) if column in FOLDED_COLUMNS else value

    addresses = {column: _address(line, column, values[column], smtputf8, problems)
                 for column in ADDRESS_COLUMNS if values.get(column)}
    stage = values.get("stage", "").lower()
    if stage and stage not in STAGES:
        problems.append(Problem(line, "stage", f"unknown stage {values['stage']!r}; use one of {', '.join(STAGES)}"))
    outcome = values.get("outcome", "").lower()
    if outcome and outcome not in OUTCOMES:
        problems.append(
            Problem(line, "outcome", f"unknown outcome {values['outcome']!r}; use one of {', '.join(OUTCOMES)}")
        )
    if outcome == "rejected" and "company_contact_email" in values and not values["company_contact_email"]:
        problems.append(Problem(line, "company_contact_email", "is required when the outcome is rejected"))
    decided_on = _decided_on(line, values["decided_on"], today, problems) if values.get("decided_on") else None
    try:  # the row's language as a shipped tag (fr-CA is fr)
        locale = shipped_tag(values.get("locale"))
    except UnknownLocale:
        locale = None
        problems.append(Problem(line, "locale", f"unknown language {values['locale'][:40]!r}; use one of {', '.join(SHIPPED)}"))

    if problems:
        return None, problems
    return (
        OutcomeRow(
            line=line,
            candidate_name=values["candidate_name"],
            candidate_email=addresses["candidate_email"],
            company=values["company"],
            company_contact_email=addresses.get("company_contact_email"),
            position=values["position"],
            stage=stage,
            outcome=outcome,
            decided_on=decided_on,
            application_ref=values.get("application_ref") or None,
            locale=locale,
        ),
        [],
    )


def read_records(stream: TextIO) -> Iterator[tuple[int, dict[str, str] | None, list[Problem]]]:
    """Yield (line, record, problems) for each data row; header problems come first with line 1.

    A fatal problem with the header yields it and stops: no row can be read without columns.
    """
    try:
        header_line = stream.readline(MAX_HEADER_LENGTH + 1)
    except UnicodeDecodeError:
        yield 1, None, [Problem(1, "file", "is not UTF-8 text; save it as UTF-8 (in Excel: \"CSV UTF-8\")")]
        return
    if not header_line.strip():
        yield 1, None, [Problem(1, "header", "the file is empty; the first line must name the columns")]
        return
    if len(header_line) > MAX_HEADER_LENGTH:
        yield 1, None, [Problem(1, "header", f"is longer than {MAX_HEADER_LENGTH} characters; "
                                             "the first line must name the columns")]
        return
    delimiter = _sniff_delimiter(header_line)
    header = [header_name(name) for name in next(csv.reader([header_line], delimiter=delimiter))]
    header_problems = [Problem(1, column, "column is missing") for column in REQUIRED_COLUMNS if column not in header]
    if "company_contact_email" not in header:
        header_problems.append(Problem(1, "company_contact_email", "column is missing (needed for rejections)"))
    seen: set[str] = set()
    for name in header:
        if name in COLUMNS and name in seen:
            header_problems.append(Problem(1, name, "column appears twice"))
        seen.add(name)
    if header_problems:
        yield 1, None, header_problems
        return

    reader = csv.reader(stream, delimiter=delimiter, strict=False)
    last_line = 1
    while True:
        start = last_line + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            yield start, None, [Problem(start, "file", "is not UTF-8 text from here on; save it as UTF-8 "
                                                      "(in Excel: \"CSV UTF-8\")")]
            return
        except csv.Error as exc:
            yield start, None, [Problem(start, "row", f"cannot be read as CSV ({exc})")]
            return
        last_line = reader.line_num + 1
        if not any(field.strip() for field in fields):
            continue
        if len(fields) > len(header):
            extra = fields[len(header):]
            if any(field.strip() for field in extra):
                yield start, None, [
                    Problem(start, "row", f"has {len(fields)} fields but the header names {len(header)}")
                ]
                continue
        yield start, dict(zip(header, fields)), []


def _identity_digest(identity: tuple) -> bytes:
    # A short digest keeps memory flat however long the file is.
    return hashlib.blake2b(repr(identity).encode(), digest_size=16).digest()


def check_records(
    records: Iterable[tuple[int, dict[str, str] | None, list[Problem]]], today: date, unit: str = "line",
    smtputf8: bool = False,
) -> Iterator[tuple[OutcomeRow | None, list[Problem]]]:
    """Validate (line, record, problems) triples in order: each row, then repeats within the input.

    Yields (row, []) for a valid row and (None, problems) for an invalid one. The CSV import, the
    upload and the API all come through here.
    """
    first_seen: dict[bytes, int] = {}
    for line, record, problems in records:
        if record is None:
            yield None, problems
            continue
        row, problems = validate_record(line, record, today, smtputf8)
        if row is None:
            yield None, problems
            continue
        digest = _identity_digest(row.identity)
        if digest in first_seen:
            column = "application_ref" if row.application_ref else "row"
            yield None, [Problem(line, column, f"repeats the application of {unit} {first_seen[digest]}")]
            continue
        first_seen[digest] = line
        yield row, []


def restrict_to_companies(
    results: Iterable[tuple[OutcomeRow | None, list[Problem]]], allowed: set[str] | None
) -> Iterator[tuple[OutcomeRow | None, list[Problem]]]:
    """Turn valid rows for a company outside ``allowed`` (folded names; None: any) into problems."""
    for row, problems in results:
        if row is not None and allowed is not None and fold(row.company) not in allowed:
            yield None, [Problem(row.line, "company", f"{row.company!r} is not one of your companies")]
        else:
            yield row, problems


def check_outcomes(stream: TextIO, today: date,
                   smtputf8: bool = False) -> Iterator[tuple[OutcomeRow | None, list[Problem]]]:
    """Validate an outcomes CSV row by row, in file order (see check_records)."""
    return check_records(read_records(stream), today, smtputf8=smtputf8)
