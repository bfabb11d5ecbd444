"""Languages (CONTRACT §2, §4, §5): which are shipped, how a tag is read, and whose language a page is in.

Flask-Babel does the translating (catalogues in feedback/translations/, ``make translations``).
A person's language is stored as its BCP 47 tag (``pt-BR``); Babel names the same locale ``pt_BR``.
"""
from __future__ import annotations

from functools import cache
from urllib.parse import urlencode

from babel import Locale
from flask import current_app, g, has_request_context, request, session

# The shipped languages, as BCP 47 tags, in the order the language switch lists them.
SHIPPED = ("en", "de", "fr", "es", "pt-BR", "ar")
_BY_LOWER = {tag.lower(): tag for tag in SHIPPED}
# A language shipped in one variant takes its other regions' tags too ("fr-CA" is French, "pt" and
# "pt-PT" read the Brazilian Portuguese catalogue).
_BY_LANGUAGE = {tag.split("-")[0].lower(): tag for tag in SHIPPED}
SESSION_KEY = "lang"


class UnknownLocale(ValueError):
    """A tag that names no shipped language."""


def shipped_tag(value: str | None) -> str | None:
    """The shipped tag that ``value`` names: case and ``_``/``-`` do not matter, a region of a
    shipped language is that language. None for an empty value; UnknownLocale for anything else."""
    text = (value or "").strip().replace("_", "-")
    if not text:
        return None
    lower = text.lower()
    if lower in _BY_LOWER:
        return _BY_LOWER[lower]
    language = lower.split("-")[0]
    if language in _BY_LANGUAGE and all(part.isalnum() and 1 <= len(part) <= 8 for part in lower.split("-")):
        return _BY_LANGUAGE[language]
    raise UnknownLocale(f"{text!r} is not a shipped language (one of {', '.join(SHIPPED)})")


def babel_name(tag: str) -> str:
    """'pt-BR' as Babel names it: 'pt_BR'."""
    return tag.replace("-", "_")


def tag_of(locale: Locale | str | None) -> str:
    """The shipped BCP 47 tag of a Babel locale (the default language for anything else)."""
    try:
        return shipped_tag(str(locale)) or default_tag()
    except UnknownLocale:
        return default_tag()


def default_tag() -> str:
    return current_app.config["FEEDBACK_DEFAULT_LOCALE"]


def resolve(*tags: str | None) -> str:
    """The first of ``tags`` that is set (a person's, then their company's), else FEEDBACK_DEFAULT_LOCALE."""
    return next((tag for tag in tags if tag), None) or default_tag()


def use_person_locale(tag: str | None) -> None:
    """A page reached by a link is in the language of the person it was sent to, unless the reader
    chose another with the language switch."""
    from flask_babel import refresh

    g.person_locale = tag
    refresh()  # a locale looked up earlier in this request is looked up again


def select_locale() -> str:
    """Flask-Babel's locale selector: the reader's choice (the switch, this session), then the
    person the page's link was sent to, then a signed-in user's stored choice, then the browser's
    Accept-Language, then FEEDBACK_DEFAULT_LOCALE."""
    if not has_request_context():
        return babel_name(default_tag())
    chosen = session.get(SESSION_KEY)
    if chosen in SHIPPED:
        return babel_name(chosen)
    person = g.get("person_locale")
    if person:
        return babel_name(person)
    from flask_login import current_user

    stored = getattr(current_user, "locale", None) if current_user else None
    if stored in SHIPPED:
        return babel_name(stored)
    best = request.accept_languages.best_match(SHIPPED)
    return babel_name(best or default_tag())


def remember_choice() -> None:
    """before_request: ``?lang=TAG`` (the language switch's links) becomes this session's language."""
    value = request.args.get(SESSION_KEY)
    if value:
        try:
            tag = shipped_tag(value)
        except UnknownLocale:
            return
        if session.get(SESSION_KEY) != tag:
            session[SESSION_KEY] = tag


@cache
def language_name(tag: str) -> str:
    """The language as its own speakers write it: 'Deutsch', 'العربية', 'português (Brasil)'."""
    return Locale.parse(babel_name(tag)).get_display_name() or tag


def language_name_in_page(tag: str) -> str:
    """The language as the page's reader names it: 'German' on an English page, 'Deutsch' on a German one."""
    from flask_babel import get_locale

    return Locale.parse(babel_name(tag)).get_display_name(get_locale() or babel_name(default_tag())) or tag


def text_direction(locale: Locale | str | None) -> str:
    """'rtl' or 'ltr', as Babel's locale data says."""
    parsed = Locale.parse(str(locale)) if locale else Locale.parse(babel_name(default_tag()))
    return parsed.text_direction


def switch_links() -> list[dict]:
    """The language switch: this page in each shipped language, its other arguments kept. Each link
    is a query alone (``?nps=7&lang=de``): it keeps the page's path, whatever that path holds."""
    args = request.args.to_dict(flat=False)
    links = []
    for tag in SHIPPED:
        args[SESSION_KEY] = [tag]
        links.append({"tag": tag, "name": language_name(tag), "url": f"?{urlencode(args, doseq=True)}"})
    return links


def page_language() -> dict:
    """What every page's template knows of its language: ``<html lang="{{ page_lang }}" dir="{{ page_dir }}">``."""
    from flask_babel import get_locale

    locale = get_locale()
    return {"page_lang": tag_of(locale), "page_dir": text_direction(locale), "language_links": switch_links,
            "language_name": language_name}
