"""What every vendor mapping shares: the event record, the HMAC check, stage names, the contact."""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..i18n import UnknownLocale, shipped_tag

# What the intake does with an event:
#   outcome  import ``item`` (an outcomes row) for the connector's company
#   cancel   cancel what is still unsent for ``application_ref`` (an un-reject, an un-archive)
#   erase    erase the candidate ``candidate_email`` at the connector's company (anonymisation)
#   enrich   store the event and let the worker read the rest from the vendor's API (Lever)
#   ping     the vendor checks the hook: answer 200, record nothing
#   ignore   an event of another type, or one that is no outcome (a hire, a stage move): 200
ACTIONS = ("outcome", "cancel", "erase", "enrich", "ping", "ignore")


@dataclass
class VendorEvent:
    action: str
    event_key: str  # the vendor's delivery or event id, else a hash of the signed content
    item: dict[str, str] = field(default_factory=dict)  # for "outcome": CSV columns
    application_ref: str | None = None  # for "cancel" and "outcome"
    candidate_email: str | None = None  # for "erase"
    candidate_ref: str | None = None  # the vendor's candidate id: kept with the event, so that an
    # anonymisation naming only that id (Greenhouse) finds the applications it brought
    detail: dict = field(default_factory=dict)  # for "enrich": what the worker needs
    note: str = ""  # why an event is ignored, for the answer and the log

    def __post_init__(self) -> None:
        # What the intake looks up and stores must be storable: the index keeps KEY_LENGTH characters
        # of a key, and PostgreSQL takes no NUL in text. Such a key (an odd vendor id) is hashed, so
        # that its retry is found and two of them never meet in a shared prefix; an id or address
        # with a NUL names nothing an import stored (imports refuse control characters): left out.
        if len(self.event_key) > KEY_LENGTH or "\x00" in self.event_key:
            self.event_key = "sha256:" + hashlib.sha256(self.event_key.encode("utf-8", "surrogatepass")).hexdigest()
        for name in ("application_ref", "candidate_email", "candidate_ref"):
            if "\x00" in (getattr(self, name) or ""):
                setattr(self, name, None)


KEY_LENGTH = 128  # ConnectorEvent.event_key


def hmac_hex(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def same_hex(given: str | None, expected: str) -> bool:
    """A constant-time comparison of a hex signature, whatever its case, refusing anything absent."""
    if not given or not given.isascii():
        return False
    return hmac.compare_digest(given.strip().lower(), expected)


def body_key(body: bytes) -> str:
    """An event key for a vendor that sends no id: the hash of the signed bytes (a retry is the same bytes)."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


# Vendors' stage names (lower case) mapped to ours; anything else by the words it holds (stage_of).
STAGE_WORDS = (
    ("offer", "offer"),
    ("final", "final"), ("onsite", "final"), ("on-site", "final"), ("executive", "final"),
    ("interview", "interview"), ("assessment", "interview"), ("technical", "interview"), ("panel", "interview"),
    ("case", "interview"), ("task", "interview"), ("test", "interview"), ("challenge", "interview"),
    ("screen", "screen"), ("phone", "screen"), ("call", "screen"), ("intro", "screen"),
    ("appl", "application"), ("review", "application"), ("new", "application"), ("lead", "application"),
    ("sourced", "application"), ("inbox", "application"),
)
DEFAULT_STAGE = "interview"  # an unknown stage: the middle of a process, where most rejections fall


def stage_of(name: object, table: Mapping[str, str] | None = None) -> str:
    """Our stage for a vendor's stage name: the vendor's table first, then the words the name holds,
    else DEFAULT_STAGE. Never empty: an ATS's custom stage must not make the outcome a line error."""
    if not isinstance(name, str) or not name.strip():
        return DEFAULT_STAGE
    folded = " ".join(name.split()).casefold()
    if table and folded in table:
        return table[folded]
    for word, stage in STAGE_WORDS:
        if word in folded:
            return stage
    return DEFAULT_STAGE


def stage_of_name_or_kind(name: object, kind: object, table: Mapping[str, str]) -> str:
    """Our stage for a vendor stage with a name and a broad kind (Recruitee's category, Workable's
    stage_kind): by the name when the vendor's table knows it, else by the kind, else by the name's words."""
    if isinstance(name, str) and " ".join(name.split()).casefold() in table:
        return stage_of(name, table)
    if isinstance(kind, str) and kind.strip():
        return stage_of(kind, table)
    return stage_of(name, table)


def first_email(*candidates: object) -> str | None:
    """The first of ``candidates`` that is a non-empty string (the contact order: the person who
    rejected, the hiring manager, the recruiter)."""
    for value in candidates:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def dig(value: object, *path: str | int) -> object:
    """``value[path[0]][path[1]]…``, or None as soon as a step is missing or of another type."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or not -len(value) <= step < len(value):
                return None
            value = value[step]
        elif isinstance(value, dict):
            value = value.get(step)
        else:
            return None
    return value


def text(value: object) -> str | None:
    """A string field's value, or None (numbers as ids become strings)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, str)):
        return str(value).strip() or None
    return None


def outcome_row(*, candidate_name: object, candidate_email: object, contact: object, position: object,
                stage: str, outcome: str, decided_at: object, application_ref: object,
                locale: object = None) -> dict[str, str]:
    """An outcomes row in the CSV's columns, leaving out what the event did not give (the validation
    then names it: a missing address is a 422, never a guess). A language the event names that we do
    not ship is left out too: the candidate then gets the company's language, and the outcome is kept."""
    row = {
        "candidate_name": text(candidate_name), "candidate_email": text(candidate_email),
        "company_contact_email": text(contact), "position": text(position), "stage": stage,
        "outcome": outcome, "decided_on": (text(decided_at) or "")[:10] or None,
        "application_ref": text(application_ref), "locale": _shipped_or_none(text(locale)),
    }
    return {key: value for key, value in row.items() if value is not None}


def _shipped_or_none(tag: str | None) -> str | None:
    try:
        return shipped_tag(tag)
    except UnknownLocale:
        return None


def person_locale(person: object) -> object:
    """The language an ATS gives for a person, under the names vendors use for it."""
    return dig(person, "locale") or dig(person, "language") if isinstance(person, dict) else None


def join_names(parts: Iterable[object]) -> str | None:
    return " ".join(part.strip() for part in parts if isinstance(part, str) and part.strip()) or None
