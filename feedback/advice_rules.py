"""What in a company's advice to a candidate a recruiter should look at before approving it.

A pure function of the text (no web, no database): personal data (phone numbers, e-mail and web
addresses) and words naming a protected characteristic (DOMAIN.md, legal care). A flag is a hint for
the reviewer, never a refusal; flagged advice is never approved in bulk.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

EXCERPT_LENGTH = 32


@dataclass(frozen=True)
class Flag:
    kind: str  # phone, email, web, protected
    reason: str  # shown on the item, e.g. "Looks like a phone number: '+49 170 1234567'"


_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_URL = re.compile(r"(?i:\b[a-z][a-z0-9+.\-]*://\S+|\bwww\.\S+)"
                  # a bare host in lower case ("ASP.NET", "Node.js", "Socket.io" are skills, not hosts)
                  r"|\b[\w\-]+(?:\.[\w\-]+)*\.(?:com|org|net|info|biz|co|de|uk|eu|fr|nl|ch|es|it|dev|app)\b")
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d \u00a0().\-/]{5,}\d(?![\w])")
_DATE_OR_RANGE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
                            r"|(?:19|20)\d\d\s*[-/]\s*(?:19|20)\d\d")

# One pattern per characteristic; whole words, any case.
PROTECTED: dict[str, str] = {
    "age": r"ages?|aged|ageing|aging|too old|older|elderly|young|younger|youthful|years old|retire(?:d|ment)?"
           r"|millennials?|boomers?|digital natives?|overqualified",
    "gender or sex": r"gender|sex|male|female|man|men|woman|women|girls?|boys?|lady|ladies|feminine|masculine"
                     r"|trans|transgender|non-binary",
    "pregnancy or parenthood": r"pregnant|pregnancy|maternity|paternity|parental leave|childcare|babies|baby",
    "religion or belief": r"religion|religious|church|mosque|synagogue|muslims?|islam(?:ic)?|christians?|catholic"
                          r"|jewish|jews?|hindu|buddhist|sikh|atheist|hijab|headscarf|turban|prayers?|ramadan"
                          r"|sabbath",
    "ethnicity or race": r"race|racial|ethnic|ethnicity|skin colou?r|asian|african|hispanic|latin[ao]|arab"
                         r"|caucasian|accent",
    "nationality": r"nationality|national origin|foreign|foreigners?|immigrants?|migrants?|citizenship"
                   r"|native speakers?|mother tongue|country of origin",
    "disability or health": r"disability|disabled|handicap(?:ped)?|wheelchair|blind|deaf|autism|autistic|adhd"
                            r"|dyslexi[ac]|illness|sick|sickness|medical|mental health|health condition"
                            r"|depression|chronic|diagnos(?:is|ed)",
    "sexual orientation": r"sexual orientation|gay|lesbian|bisexual|homosexual|heterosexual|queer|lgbtq?\+?",
    "marital or family status": r"married|marriage|unmarried|divorced|widow(?:ed|er)?|wife|husband|spouse"
                                r"|children|child|kids|family|mother|father|mum|mom|dad|single parent",
}
_PROTECTED = {name: re.compile(rf"(?i)\b(?:{words})\b") for name, words in PROTECTED.items()}
_CULTURE_FIT = re.compile(r"(?i)\bculture[ -]fit\b")


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_LENGTH else text[:EXCERPT_LENGTH - 1] + "…"


def advice_flags(text: str | None) -> list[Flag]:
    """What in ``text`` looks like personal data or a protected characteristic, each with its reason."""
    if not text:
        return []
    flags: list[Flag] = []
    emails = list(_EMAIL.finditer(text))
    flags += [Flag("email", f"Looks like an e-mail address: '{_excerpt(m.group())}'") for m in emails]
    hosts = [m for m in _URL.finditer(text) if not any(e.start() <= m.start() < e.end() for e in emails)]
    flags += [Flag("web", f"Looks like a web address: '{_excerpt(m.group().rstrip('.,;:)'))}'") for m in hosts]
    for found in _PHONE.finditer(text):
        candidate = found.group().strip(" /.-").rstrip("(")
        digits = sum(ch.isdigit() for ch in candidate)
        if 7 <= digits <= 15 and not _DATE_OR_RANGE.fullmatch(candidate):
            flags.append(Flag("phone", f"Looks like a phone number: '{_excerpt(candidate)}'"))
    for name, pattern in _PROTECTED.items():
        words = list(dict.fromkeys(m.group() for m in pattern.finditer(text)))
        if words:
            shown = ", ".join(f"'{word}'" for word in words[:3])
            flags.append(Flag("protected", f"Mentions {name}, a protected characteristic: {shown}"))
    if _CULTURE_FIT.search(text):
        flags.append(Flag("protected", "Says 'culture fit', which hides the real reason: name a job-related one"))
    return flags
