"""The bytes of an outgoing e-mail (a plain-text and an HTML part), written directly.

Flask-Mail builds every message from ``email.mime`` objects and serialises it through
``policy.SMTP``, which parses again each header it was just given: about 1 ms a message, more than
the rest of a delivery. The message written here has the same content (multipart/alternative:
text/plain, then text/html; UTF-8, 7bit or quoted-printable, CRLF; Flask-Mail wraps that in a
multipart/mixed meant for attachments, which these e-mails never have), but as text. Plain
ASCII headers go out as they are, folded before spaces past 78 characters (a long URL stays whole:
the limit is 998); other text becomes RFC 2047 encoded words. A body that is not plain ASCII, or
has a line too long for SMTP (998 octets), goes quoted-printable, which any server accepts.
"""
from __future__ import annotations

import base64
import binascii
import random
import sys
from email import policy
from email.headerregistry import Address
from email.utils import formataddr, formatdate, parseaddr

from flask_mail import sanitize_address

MAX_HEADER_LINE = 78  # RFC 5322 "SHOULD"; 998 is the "MUST"
MAX_LINE = 998
ENCODED_WORD_OCTETS = 42  # =?utf-8?b?…?= of at most 68 characters: "Subject: " and one fit in 78


class MessageWriter:
    """What all messages of a batch share (the sender), and the bytes of each message."""

    def __init__(self, sender: str | tuple[str, str]) -> None:
        # MAIL_DEFAULT_SENDER may be (name, address), as in Flask-Mail, or "Name <address>".
        name, address = sender if isinstance(sender, tuple) else parseaddr(sender)
        self.envelope_sender = sanitize_address(address)
        # A name with specials ("Acme, Inc.", "Team (HR)") is quoted; a non-ASCII one is encoded.
        if name.isascii():
            self._from = address_header("From", formataddr((name, address)))
        else:
            self._from = policy.SMTP.header_factory("From", [Address(display_name=name, addr_spec=address)]).fold(
                policy=policy.SMTP)

    def message_bytes(self, to_address: str, subject: str, text: str, html: str, message_id: str,
                      unsubscribe_url: str, date: float | None = None) -> bytes:
        """A complete message, CRLF line ends, ready for ``SMTP.sendmail``."""
        text_part, html_part = _part("plain", text), _part("html", html)
        boundary = _boundary(text_part + html_part)
        head = "".join((
            f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n',
            "MIME-Version: 1.0\r\n",
            header("Subject", subject),
            self._from,
            address_header("To", recipient(to_address)),
            f"Date: {formatdate(date, localtime=True)}\r\n",
            header("Message-ID", message_id),
            header("List-Unsubscribe", f"<{unsubscribe_url}>"),
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
            "Auto-Submitted: auto-generated\r\n",
            "\r\n",
            f"--{boundary}\r\n",
        ))
        return b"".join((
            head.encode("ascii"),
            text_part,
            f"\r\n--{boundary}\r\n".encode("ascii"),
            html_part,
            f"\r\n--{boundary}--\r\n".encode("ascii"),
        ))


def recipient(address: str) -> str:
    """The address as the envelope and the To header carry it (an IDN domain in its ASCII form)."""
    return address if address.isascii() else sanitize_address(address)


def header(name: str, value: str) -> str:
    """One unstructured header field (Subject, Message-ID, List-Unsubscribe …), CRLF-terminated.

    ASCII goes out as it is; runs of words with other characters become RFC 2047 encoded words.
    The line is folded before spaces past 78 characters (a long URL stays whole: the limit is
    998). A line break in the value is refused: it would let the value add headers of its own.
    """
    if "\r" in value or "\n" in value:
        raise ValueError(f"the {name} header must not contain a line break")
    if not value.isascii() or "=?" in value:
        value = _encode_words(value)
    line = f"{name}: {value}"
    if len(line) <= MAX_HEADER_LINE:
        return line + "\r\n"
    return "\r\n ".join(_fold_at_spaces(line)) + "\r\n"


def address_header(name: str, value: str) -> str:
    """An address header (From, To): a non-ASCII display name is encoded by the standard library."""
    if value.isascii() and len(value) + len(name) + 2 <= MAX_LINE:
        return header(name, value)
    return policy.SMTP.header_factory(name, value).fold(policy=policy.SMTP)


def _encode_words(value: str) -> str:
    """The value with each run of words that is not plain ASCII as RFC 2047 encoded words.

    A decoder drops the space between two encoded words, so the spaces inside a run are encoded
    with it; an ASCII word that looks like an encoded word ("=?…") is encoded too, so that it
    reads back as written.
    """
    out: list[str] = []
    run: list[str] = []
    for word in value.split(" "):
        if not word.isascii() or "=?" in word or (run and not word):  # a double space stays in the run
            run.append(word)
            continue
        if run:
            out.extend(_encoded_words(" ".join(run)))
            run = []
        out.append(word)
    if run:
        out.extend(_encoded_words(" ".join(run)))
    return " ".join(out)


def _encoded_words(text: str) -> list[str]:
    """``=?utf-8?b?…?=`` words (RFC 2047 allows 75 characters), never splitting a character."""
    words: list[str] = []
    chunk = b""
    for char in text:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > ENCODED_WORD_OCTETS:
            words.append(f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=")
            chunk = b""
        chunk += encoded
    words.append(f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=")
    return words


def _fold_at_spaces(line: str) -> list[str]:
    """A header line folded before spaces into lines of at most 78 characters where the words allow.

    The first word stays on the field name's line, and so does a word longer than a line (a URL).
    """
    lines: list[str] = []
    name, first, *words = line.split(" ")
    current = f"{name} {first}"
    for word in words:
        if word and len(current) + 1 + len(word) > MAX_HEADER_LINE >= len(word) + 1 and current.strip():
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}"
    lines.append(current)
    return lines


def _part(subtype: str, content: str) -> bytes:
    """One text part: its headers and its body, CRLF line ends, no final line end."""
    data = content.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    if data.isascii() and max(map(len, data.split(b"\n"))) <= MAX_LINE:
        encoding = "7bit"
    else:  # 7bit-safe for any server (8bit would need its 8BITMIME)
        encoding = "quoted-printable"
        data = binascii.b2a_qp(data, istext=True)
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n'
    ).encode("ascii") + data.replace(b"\n", b"\r\n")


def _boundary(body: bytes) -> str:
    """A random boundary in the standard library's form, found nowhere in the parts."""
    while True:
        boundary = f"==============={random.randrange(sys.maxsize):019d}=="
        if boundary.encode("ascii") not in body:
            return boundary
