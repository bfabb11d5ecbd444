"""Whose fault an SMTP refusal is: the recipient's, or the server's.

A relay that refuses everything (no relaying for us, a refused sender, a full quota) answers every
recipient the same way; taking each answer for a bad address would fail every message for good and
suppress every address. So a refusal is only held during a run: it becomes final (failed for good,
the address suppressed on a 5xx for the recipient) once the server accepted some other message in
that run. SAME_ANSWER_STOPS_AFTER refusals in a row with the same answer, to as many different
addresses, are the server's: the run stops, and they stay queued for a later attempt with the rest.
"""
from __future__ import annotations

import smtplib
from dataclasses import dataclass, field

from ..mail import OutgoingItem

SAME_ANSWER_STOPS_AFTER = 3


@dataclass
class Refusal:
    """A message the server refused: what to record now, and what it means once final."""

    items: list[OutgoingItem]
    error: str  # one line, for last_error and the log
    permanent: bool  # a 5xx: retrying the same message cannot help
    bad_address: bool  # a 5xx refusal of the recipient: the address itself is bad
    answer: tuple[int, str] | None  # the server's reply code and text, the address left out; None: not a reply

    @property
    def address(self) -> str:
        return self.items[0].to_address


def refusal_of(items: list[OutgoingItem], exc: Exception) -> Refusal:
    """How the server (or smtplib) refused the e-mail of ``items``."""
    address = items[0].to_address
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        text = _text(text)
        return Refusal(items, f"recipient refused: {code} {text}", code >= 500, code >= 500,
                       _answer(code, text, address))
    if isinstance(exc, smtplib.SMTPResponseException):  # the sender, the data, or any other reply refused
        text = _text(exc.smtp_error)
        return Refusal(items, f"refused: {exc.smtp_code} {text}", exc.smtp_code >= 500, False,
                       _answer(exc.smtp_code, text, address))
    if isinstance(exc, smtplib.SMTPNotSupportedError):  # a non-ASCII address, and no SMTPUTF8 on the server
        return Refusal(items, f"cannot be sent through this server: {exc}", True, False, None)
    if isinstance(exc, (smtplib.SMTPException, OSError)):
        return Refusal(items, f"{type(exc).__name__}: {exc}", False, False, None)
    # A header or encoding problem: retrying the same row cannot help.
    return Refusal(items, f"cannot be sent: {type(exc).__name__}: {exc}", True, False, None)


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _answer(code: int, text: str, address: str) -> tuple[int, str]:
    return code, without_address(text, address)


def without_address(text: str, address: str) -> str:
    """A server's answer with the recipient's address left out, to compare answers to different addresses:
    "554 5.7.1 <ana@example.org>: Relay access denied" is the same answer for everyone."""
    return " ".join(text.lower().replace(address.lower(), "").replace("<>", "").split())


@dataclass
class RefusalWatch:
    """The refusals of one run, held until the server accepts another message (or stops the run)."""

    accepted: bool = False
    held: list[Refusal] = field(default_factory=list)
    same_answer: list[Refusal] = field(default_factory=list)  # the refusals in a row with one answer

    def refused(self, refusal: Refusal) -> bool:
        """Hold a server's answer refusing a message; True when the last ones show it refuses everyone."""
        self.held.append(refusal)
        if not self.same_answer or self.same_answer[-1].answer != refusal.answer:
            self.same_answer = []
        self.same_answer.append(refusal)
        return len({held.address.lower() for held in self.same_answer}) >= SAME_ANSWER_STOPS_AFTER

    def accepted_one(self) -> list[Refusal]:
        """The server accepted a message: the refusals held so far were the recipients' own; returned to settle."""
        self.accepted, self.same_answer = True, []
        settled, self.held = self.held, []
        return settled

    def at_end(self) -> list[Refusal]:
        """The run ended: its held refusals are final if the server accepted anything in it, else none is."""
        return self.accepted_one() if self.accepted else []

    @property
    def server_answer(self) -> str:
        """The answer every recipient got, for the operator."""
        return self.same_answer[-1].error if self.same_answer else ""
