"""What text from outside (a CSV, the API, a webhook) may hold before it reaches an e-mail header or a page.

Pure functions, one rule per kind of field: each returns the reason a value is refused, or None.
"""
from __future__ import annotations

import re
import unicodedata

# Every control character (C0, DEL, C1) and the invisible marks that reorder or hide text (bidi
# overrides and isolates, line and paragraph separators): none belongs in a name, a subject or an
# address. A tab is whitespace: callers fold runs of whitespace to one space before this check.
_INVISIBLE = re.compile("[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Person and role fields say who and what, never where to go: no link (scheme, www., a host with a
# common top-level domain), no address, no markup or character reference; "R&D" stays a name.
_LINK_OR_MARKUP = re.compile(
    r"(?i:[a-z][a-z0-9+.\-]*://|\bwww\.|<[a-z/!?]|&#?\w+;)|@"
    # a bare host that mail clients turn into a link, in the lower case phishing writes it in
    # ("ASP.NET", "Node.js" and "Socket.io" are skills, not hosts)
    r"|\w\.(?:com|org|net|info|biz|xyz|top|online|site|link|click|app|co|example|ru|cn)\b")
# An RFC 2047 encoded word ("=?utf-8?q?...?=") in the local part reads as a name to a mail client.
_ENCODED_WORD = re.compile(r"=\?.*\?=")


def invisible_problem(value: str) -> str | None:
    """Refuse a control character or an invisible reordering mark anywhere."""
    found = _INVISIBLE.search(value)
    if found is None:
        return None
    if found.group() in "\r\n":
        return "must not contain a line break"
    name = unicodedata.name(found.group(), "") or f"U+{ord(found.group()):04X}"
    return f"must not contain a control character ({name})"


def person_or_role_problem(value: str) -> str | None:
    """Refuse a link, an e-mail address or markup in a name or a position."""
    if _LINK_OR_MARKUP.search(value):
        return "must be a name, without a link, an e-mail address or markup"
    return None


def mailable_problem(address: str, smtputf8: bool) -> str | None:
    """Refuse an address that the configured mail server cannot carry (the local part is before the @)."""
    local = address.rpartition("@")[0]
    if _ENCODED_WORD.search(local):
        return "has an encoded word (=?…?=) before the @, which no mail system delivers"
    if not smtputf8 and not local.isascii():
        return ("has non-ASCII letters before the @; the mail server is not set up for them "
                "(MAIL_SMTPUTF8=true if it offers SMTPUTF8)")
    return None
