"""How names and addresses are compared: one rule for the import, the scoping and the look-ups."""
from __future__ import annotations

import re
from functools import lru_cache

from email_validator import validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT, EMAIL_MAX_LENGTH, LOCAL_PART_MAX_LENGTH


def fold(name: str) -> str:
    """Names match without regard to case or repeated spaces ("ACME  robotics" is "Acme Robotics")."""
    return " ".join(name.split()).casefold()


# Domains that email-validator accepted, raw text -> its normalised form. Checking a domain is
# ~80 % of validate_email's ~60 µs, and an import's addresses share a few domains: an address whose
# domain is known and whose local part is a plain ASCII dot-atom (which email-validator, with its
# default options as used here, accepts as is when it is at most 64 characters) needs no second look
# at the domain. Anything else goes through validate_email whole, so the verdicts and error
# messages are email-validator's own.
_checked_domains: dict[str, str] = {}
_MAX_CHECKED_DOMAINS = 4096
_PLAIN_DOMAIN = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\Z")


@lru_cache(maxsize=8192)  # company contacts repeat on many rows
def normalise_address(address: str) -> str:
    """The address as stored and compared: syntax-checked, lower-cased (raises EmailNotValidError)."""
    local, _, domain = address.rpartition("@")
    plain_local = len(local) <= LOCAL_PART_MAX_LENGTH and DOT_ATOM_TEXT.match(local) is not None
    known_domain = _checked_domains.get(domain)
    if known_domain is not None and plain_local and len(local) + 1 + len(known_domain) <= EMAIL_MAX_LENGTH:
        return f"{local}@{known_domain}".lower()
    result = validate_email(address, check_deliverability=False)
    if (plain_local and _PLAIN_DOMAIN.match(domain) and result.domain == result.ascii_domain
            and len(_checked_domains) < _MAX_CHECKED_DOMAINS):
        _checked_domains[domain] = result.domain
    return result.normalized.lower()
