"""A rendered e-mail as an ``email.message.EmailMessage``: a plain-text and an HTML alternative."""
from __future__ import annotations

from email.header import Header
from email.headerregistry import Address, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr
from typing import TYPE_CHECKING

from email_validator import validate_email

if TYPE_CHECKING:
    from . import OutgoingEmail


class _Subject(UnstructuredHeader):
    """A Subject folded by ``email.header``, which encodes non-ASCII text whole.

    The policy's own folder drops the space before an encoded word it moves to a new line
    (CPython gh-144156, fixed in 2026, after the Python 3.11 this runs on): "(QA Engineer –
    Ünïcode)" would read "(QA Engineer –Ünïcode)".
    """

    max_count = 1

    def fold(self, *, policy) -> str:
        return f"{self.name}: {Header(str(self), header_name=self.name).encode(linesep=policy.linesep)}{policy.linesep}"


class _OneLine(UnstructuredHeader):
    """A header that goes out on one line: the policy would cut a long URL into encoded words,
    which one-click unsubscribe (RFC 8058) does not read."""

    def fold(self, *, policy) -> str:
        return f"{self.name}: {self}{policy.linesep}"


class _Headers(HeaderRegistry):
    """The standard header classes, each made once rather than for every header of every message."""

    def __init__(self) -> None:
        super().__init__()
        self.classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        if name not in self.classes:
            self.classes[name] = super().__getitem__(name)
        return self.classes[name]


_HEADERS = _Headers()
_HEADERS.map_to_type("subject", _Subject)
_HEADERS.map_to_type("list-unsubscribe", _OneLine)
# 7bit: a part that is not plain ASCII goes quoted-printable (or base64), which any server takes
# without 8BITMIME.
POLICY = SMTP.clone(header_factory=_HEADERS, cte_type="7bit")


def sender_address(sender: str | tuple[str, str]) -> Address:
    """MAIL_DEFAULT_SENDER as Flask-Mail takes it, (name, address) or "Name <address>", as one address."""
    name, address = sender if isinstance(sender, tuple) else parseaddr(sender)
    return Address(display_name=name, addr_spec=address)


def recipient(address: str) -> str:
    """The address as the envelope and the To header carry it: an IDN domain in its ASCII form.

    A non-ASCII local part stays as it is: smtplib sends it with SMTPUTF8, or refuses when the
    server does not offer it.
    """
    if address.isascii():
        return address
    checked = validate_email(address, check_deliverability=False)
    return f"{checked.local_part}@{checked.ascii_domain}"


def email_message(email: OutgoingEmail, sender: Address) -> EmailMessage:
    """The e-mail with the headers of RFC 8058 one-click unsubscribe, ready for ``SMTP.send_message``."""
    message = EmailMessage(policy=POLICY)
    message["Subject"] = email.subject
    message["From"] = sender
    message["To"] = recipient(email.to_address)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = email.message_id
    message["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.body)
    message.add_alternative(email.html, subtype="html")
    return message
