"""One SMTP transaction in two halves, so that the sender's own work overlaps the server's.

``SMTP.sendmail`` waits for every reply in turn. ``send_until_verdict`` does what it does (MAIL
FROM with SIZE, RCPT TO, DATA, the dot-stuffed message) but returns before reading the server's
verdict on the message, and calls back once MAIL FROM is on its way, before reading the reply to
it; ``read_verdict`` then reads the verdict. Errors are the ones ``sendmail`` raises, after the
same clean-up (RSET, or closing on a 421).
"""
from __future__ import annotations

import re
import smtplib
from collections.abc import Callable

_LEADING_DOT = re.compile(rb"(?m)^\.")


def send_until_verdict(host: smtplib.SMTP, sender: str, recipient: str, payload: bytes,
                       while_mail_from_pending: Callable[[], None]) -> None:
    """Send one message (CRLF line ends) up to its final dot; the server's verdict is left unread.

    ``while_mail_from_pending`` overlaps the server's reply to MAIL FROM. Nothing is delivered
    before the final dot, so what it does cannot add to the messages the server accepted.
    """
    host.ehlo_or_helo_if_needed()
    size = f" SIZE={len(payload)}" if host.does_esmtp and host.has_extn("size") else ""
    host.putcmd("mail", f"FROM:{smtplib.quoteaddr(sender)}{size}")
    while_mail_from_pending()
    code, reply = host.getreply()
    if code != 250:
        _abandon(host, code)
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    code, reply = host.rcpt(recipient)
    if code not in (250, 251):
        _abandon(host, code)
        raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    code, reply = host.docmd("data")
    if code != 354:
        _abandon(host, code)
        raise smtplib.SMTPDataError(code, reply)
    data = _LEADING_DOT.sub(b"..", payload)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    host.send(data + b".\r\n")


def read_verdict(host: smtplib.SMTP) -> None:
    """The server's answer to the message just sent; raises SMTPDataError unless it accepted it."""
    code, reply = host.getreply()
    if code != 250:
        _abandon(host, code)
        raise smtplib.SMTPDataError(code, reply)


def _abandon(host: smtplib.SMTP, code: int) -> None:
    """What sendmail does after a refusal: reset the transaction, or close on 421 (service closing)."""
    if code == 421:
        host.close()
    else:
        host._rset()
