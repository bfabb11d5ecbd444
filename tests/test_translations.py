"""The catalogues (CONTRACT §5, issue 21): every text a person reads is marked for translation, and
every shipped language has every message, none fuzzy, with the same placeholders."""
from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

from feedback.i18n import SHIPPED, babel_name

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
CATALOGUES = ROOT / "feedback" / "translations"
# Attributes a person reads or hears (a screen reader reads aria-label and alt).
READ_ATTRIBUTES = {"alt", "title", "aria-label", "placeholder", "aria-description", "aria-roledescription"}
# Text that is the same in every language: symbols, units and names.
SAME_IN_EVERY_LANGUAGE = {"NPS", "CSV", "XLSX", "JSON", "API", "ATS", "URL", "ID", "SMTP", "Greenhouse", "Ashby",
                          "Lever", "Recruitee", "Workable", "HMAC", "e.g.", "same-origin", "no-referrer",
                          "strict-origin-when-cross-origin"}
LETTER = re.compile(r"[^\W\d_]")
GETTEXT_CALLS = {"_", "gettext", "ngettext", "pgettext", "npgettext"}


def _readable(text: str) -> bool:
    words = re.sub(r"&[a-zA-Z]+;|&#\d+;", " ", text.replace("\x00", " "))
    return any(LETTER.search(word) and word.strip(".,:;()!?") not in SAME_IN_EVERY_LANGUAGE
               for word in words.split())


class _TextFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value and _readable(value):
                self.found.append(f"{tag}[{name}]: {value.strip()}")
        if tag == "input" and dict(attrs).get("type") in ("submit", "button") and _readable(dict(attrs).get("value") or ""):
            self.found.append(f"input[value]: {dict(attrs)['value']}")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if not self._skip and _readable(data):
            self.found.append(data.strip())


def unmarked_texts(path: Path) -> list[str]:
    """The texts of a template that a reader would see untranslated: its HTML text and read
    attributes outside {% trans %}, and string literals with words in its expressions that go
    through no gettext call (compared values, such as ``status == 'to do'``, are codes)."""
    env = Environment(extensions=["jinja2.ext.i18n"])
    tokens = list(env.lex(path.read_text(encoding="utf-8")))
    data, strings, depth = [], [], 0
    previous: list[tuple[str, str]] = []
    tokens = [token for token in tokens if token[1] != "whitespace"]
    for index, (_line, kind, value) in enumerate(tokens):
        if kind == "name" and value == "trans" and previous and previous[-1][0] == "block_begin":
            depth += 1
        elif kind == "name" and value == "endtrans":
            depth -= 1
        elif kind == "data" and depth == 0:
            data.append(value)
        elif kind in ("variable_begin", "block_begin") and depth == 0:
            data.append("\x00")
        elif kind == "string" and depth == 0 and " " in value.strip() and LETTER.search(value):
            following = tokens[index + 1][1:] if index + 1 < len(tokens) else ("", "")
            near = previous[-4:]
            in_call = any(k == "name" and v in GETTEXT_CALLS for k, v in near)
            compared = (previous and previous[-1][1] in ("==", "!=", "in")) or following[1] in ("==", "!=")
            if not in_call and not compared:
                strings.append(f"string: {value}")
        previous.append((kind, value))
    if path.suffix == ".txt":
        found = [chunk.strip() for chunk in "".join(data).split("\x00") if _readable(chunk)]
    else:
        finder = _TextFinder()
        finder.feed("".join(data))
        found = finder.found
    return found + strings


def _templates() -> list[Path]:
    return sorted(path for path in TEMPLATES.rglob("*") if path.suffix in (".html", ".txt"))


def test_every_template_text_is_marked_for_translation():
    unmarked = {str(path.relative_to(TEMPLATES)): texts for path in _templates() if (texts := unmarked_texts(path))}
    assert not unmarked, "text not marked for translation:\n" + "\n".join(
        f"  {name}: {text!r}" for name, texts in unmarked.items() for text in texts)


def test_the_check_finds_unmarked_text(tmp_path):
    page = tmp_path / "page.html"
    page.write_text('<p>{{ _("Marked") }}</p><p>Left out</p><img alt="A chart">'
                    '{% trans %}Also marked{% endtrans %}{{ "two words" }}{% if s == "to do" %}{% endif %}')
    assert unmarked_texts(page) == ["Left out", "img[alt]: A chart", 'string: "two words"']


def _extracted() -> dict[str, object]:
    """Every message the code and templates mark, as pybabel extracts them (babel.cfg)."""
    method_map = [("feedback/**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
    options = {"templates/**.html": {"trimmed": "true"}, "templates/**.txt": {"trimmed": "true"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
                "lazy_ngettext": (1, 2), "N_": None, "pgettext": ((1, "c"), 2)}
    messages = {}
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options, keywords=keywords):
        messages[message if isinstance(message, str) else message[0]] = message
    return messages


@pytest.fixture(scope="module")
def extracted():
    return _extracted()


@pytest.mark.parametrize("tag", [tag for tag in SHIPPED if tag != "en"])
def test_catalogue_is_complete(tag, extracted):
    path = CATALOGUES / babel_name(tag) / "LC_MESSAGES" / "messages.po"
    assert path.exists(), f"no catalogue for {tag}: make translations"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=babel_name(tag))
    missing, fuzzy, empty = [], [], []
    for msgid in extracted:
        message = catalog.get(msgid)
        if message is None:
            missing.append(msgid)
            continue
        if message.fuzzy:
            fuzzy.append(msgid)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or len(strings) < (catalog.num_plurals if isinstance(message.id, tuple) else 1):
            empty.append(msgid)
    problems = [f"{error}: {message.id!r}" for message, errors in catalog.check() for error in errors]
    # A survey prompt names {company} (filled in when the form is shown): the translation must too.
    problems += [f"{{company}} left out: {msgid!r}" for msgid in extracted if "{company}" in msgid
                 and (message := catalog.get(msgid)) is not None and message.string and "{company}" not in message.string]
    print(f"{tag}: {len(extracted)} messages, {len(missing)} missing, {len(fuzzy)} fuzzy, "
          f"{len(empty)} untranslated, {len(problems)} placeholder problems")
    assert not (missing or fuzzy or empty or problems), {
        "missing": missing[:20], "fuzzy": fuzzy[:20], "untranslated": empty[:20], "problems": problems[:20]}


@pytest.mark.parametrize("tag", [tag for tag in SHIPPED if tag != "en"])
def test_compiled_catalogue_is_current(tag):
    """The .mo files are built by make install (never committed): one older than its .po would
    show the old wording."""
    po = CATALOGUES / babel_name(tag) / "LC_MESSAGES" / "messages.po"
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run make install (or make translations)"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=babel_name(tag))
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    assert mo.read_bytes() == compiled.getvalue(), f"{mo} is older than its catalogue: run make translations"
