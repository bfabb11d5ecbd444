"""Every candidate in their own language (CONTRACT §2, §4, §5): where a language comes from, what it
changes, and that the figures count every language together."""
from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from conftest import HEADER, csrf_token, links_in, outcome_row

from feedback import config as feedback_config
from feedback.config import ConfigError
from feedback.extensions import db
from feedback.models import Application, Candidate, Company, Response, Survey

COMPANY = "Acme Robotics"
LOCALE_HEADER = [*HEADER, "locale"]


def import_rows(runner, write_csv, rows, *args):
    return runner.invoke(args=["feedback", "import", str(write_csv(rows, header=LOCALE_HEADER)), *args])


def send(runner) -> None:
    sent = runner.invoke(args=["feedback", "send"])
    assert sent.exit_code == 0, sent.output


def message_to(smtp_server, address: str):
    (message,) = [m for m in smtp_server.messages if m["To"] == address]
    return message


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def page_language(html: str) -> tuple[str, str]:
    match = re.search(r'<html lang="([^"]+)" dir="([^"]+)"', html)
    assert match, "the page names no language"
    return match.group(1), match.group(2)


def candidate(email: str, locale: str, **values) -> dict:
    return outcome_row(candidate_email=email, candidate_name=values.pop("name", "Ana Silva"), locale=locale,
                       company_contact_email="", outcome="withdrew", **values)


def test_a_csv_with_locales_imports_and_each_candidate_is_mailed_in_their_language(app, runner, write_csv,
                                                                                    smtp_server):
    rows = [candidate("fr@example.org", "fr"), candidate("de@example.org", "de-DE"),
            candidate("ar@example.org", "ar"), candidate("pt@example.org", "pt-br"),
            candidate("es@example.org", "ES"), candidate("en@example.org", "")]
    result = import_rows(runner, write_csv, rows)
    assert result.exit_code == 0, result.output
    stored = dict(db.session.execute(sa.select(Candidate.email, Application.locale)
                                     .join(Application, Application.candidate_id == Candidate.id)).all())
    assert stored == {"fr@example.org": "fr", "de@example.org": "de", "ar@example.org": "ar",
                      "pt@example.org": "pt-BR", "es@example.org": "es", "en@example.org": None}
    send(runner)

    english = message_to(smtp_server, "en@example.org")
    assert english["Subject"] == f"How was applying to {COMPANY}? (2 minutes)"
    subjects = {english["Subject"]}
    for address, lang, direction in (("fr@example.org", "fr", "ltr"), ("de@example.org", "de", "ltr"),
                                     ("ar@example.org", "ar", "rtl"), ("pt@example.org", "pt-BR", "ltr"),
                                     ("es@example.org", "es", "ltr")):
        message = message_to(smtp_server, address)
        assert page_language(html_of(message)) == (lang, direction)
        assert COMPANY in message["Subject"]
        subjects.add(message["Subject"])
        # both parts are translated: the English invitation's words are not there
        assert "How was applying" not in message["Subject"]
        assert "How likely are you to recommend" not in text_of(message)
    assert len(subjects) == 6, subjects
    french = message_to(smtp_server, "fr@example.org")
    assert "Comment" in french["Subject"] or "candidature" in french["Subject"], french["Subject"]


def test_an_unknown_locale_is_a_line_error(runner, write_csv):
    rows = [candidate("a@example.org", "xx"), candidate("b@example.org", "it-IT"), candidate("c@example.org", "de")]
    result = import_rows(runner, write_csv, rows)
    assert result.exit_code == 1
    assert "line 2: locale: unknown language 'xx'; use one of en, de, fr, es, pt-BR, ar" in result.output
    assert "line 3: locale: unknown language 'it-IT'" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == 0


def test_the_api_takes_a_locale_and_refuses_an_unknown_one(app, make_user, runner, write_csv):
    assert import_rows(runner, write_csv, [candidate("seed@example.org", "")]).exit_code == 0
    make_user("recruiter@feedback.example", "recruiter", COMPANY)
    key = runner.invoke(args=["feedback", "keys", "create", "recruiter@feedback.example"]).stdout.strip()
    client = app.test_client()
    item = {k: v for k, v in candidate("api@example.org", "fr-CA").items() if v}
    refused = client.post("/api/v1/outcomes", json={"outcomes": [{**item, "locale": "tlh"}]},
                          headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 422
    assert any(error["field"] == "locale" for error in refused.get_json()["errors"]), refused.get_json()
    taken = client.post("/api/v1/outcomes", json={"outcomes": [item]}, headers={"Authorization": f"Bearer {key}"})
    assert taken.status_code in (200, 201), taken.get_json()
    assert db.session.scalar(sa.select(Application.locale).join(Candidate).where(
        Candidate.email == "api@example.org")) == "fr"


def test_the_company_language_is_the_default_of_its_contacts_and_candidates(app, runner, write_csv, smtp_server):
    first = import_rows(runner, write_csv, [candidate("seed@example.org", "en")])
    assert first.exit_code == 0, first.output
    assert runner.invoke(args=["feedback", "companies", "locale", COMPANY, "de"]).exit_code == 0
    shown = runner.invoke(args=["feedback", "companies", "locale", COMPANY])
    assert shown.output.strip() == f"{COMPANY}: de"
    refused = runner.invoke(args=["feedback", "companies", "locale", COMPANY, "klingon"])
    assert refused.exit_code == 2 and "not a shipped language" in refused.output
    rows = [outcome_row(candidate_email="none@example.org", application_ref="R-1", locale=""),
            outcome_row(candidate_email="own@example.org", application_ref="R-2", locale="es",
                        company_contact_email="other.contact@acme-robotics.example.com")]
    assert import_rows(runner, write_csv, rows).exit_code == 0
    send(runner)
    assert page_language(html_of(message_to(smtp_server, "none@example.org")))[0] == "de"
    assert page_language(html_of(message_to(smtp_server, "own@example.org")))[0] == "es"
    # the company contact reads the company's language, whatever the candidate's
    assert page_language(html_of(message_to(smtp_server, "other.contact@acme-robotics.example.com")))[0] == "de"
    assert page_language(html_of(message_to(smtp_server, "seed@example.org")))[0] == "en"


def test_a_recruiter_sets_a_company_s_language_on_the_companies_page(app, make_user, sign_in, runner, write_csv,
                                                                     smtp_server):
    rows = [candidate("seed@example.org", ""), candidate("bank@example.org", "", company="Granite Bank")]
    assert import_rows(runner, write_csv, rows).exit_code == 0
    make_user("recruiter@feedback.example", "recruiter", COMPANY)
    client = sign_in("recruiter@feedback.example")
    page = client.get("/recruiter/companies")
    assert page.status_code == 200 and COMPANY in page.text
    assert "Granite Bank" not in page.text  # not one of the recruiter's companies
    assert "None of its own (English, the service&#39;s default)" in page.text and ">Deutsch<" in page.text
    acme, granite = (db.session.scalar(sa.select(Company.id).where(Company.name == name))
                     for name in (COMPANY, "Granite Bank"))
    token = csrf_token(page.text)
    saved = client.post(f"/recruiter/companies/{acme}/language", data={"csrf_token": token, "locale": "de"})
    assert saved.status_code == 303 and saved.headers["Location"].endswith("/recruiter/companies")
    shown = client.get("/recruiter/companies").text
    assert f"{COMPANY}: Deutsch." in shown and '<option value="de" lang="de" selected>' in shown
    assert runner.invoke(args=["feedback", "companies", "locale", COMPANY]).output.strip() == f"{COMPANY}: de"
    event = db.session.execute(sa.text("SELECT target, details FROM audit_events WHERE action = 'company language set'"
                                       )).one()
    assert event.target == COMPANY and "de" in str(event.details)
    # Its candidates without a language of their own are mailed in it from now on.
    assert import_rows(runner, write_csv, [candidate("later@example.org", "", application_ref="L-1")]).exit_code == 0
    send(runner)
    assert page_language(html_of(message_to(smtp_server, "later@example.org")))[0] == "de"
    # Cleared again with the first choice.
    assert client.post(f"/recruiter/companies/{acme}/language",
                       data={"csrf_token": token, "locale": ""}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Company, acme).locale is None

    # Refusals: another company's (404), a language not shipped or no token (400), a company login (403).
    assert client.post(f"/recruiter/companies/{granite}/language",
                       data={"csrf_token": token, "locale": "de"}).status_code == 404
    assert client.post(f"/recruiter/companies/{acme}/language",
                       data={"csrf_token": token, "locale": "xx"}).status_code == 400
    assert client.post(f"/recruiter/companies/{acme}/language", data={"locale": "de"}).status_code == 400
    make_user("boss@acme-robotics.example.com", "company", COMPANY)
    assert sign_in("boss@acme-robotics.example.com").get("/recruiter/companies").status_code == 403
    db.session.expire_all()
    assert db.session.get(Company, acme).locale is None


def _answer(client, path: str, **fields):
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    response = client.post(path, data={"csrf_token": csrf_token(page.text), **{k: str(v) for k, v in fields.items()}})
    assert response.status_code == 200, response.text
    return page, response


def test_the_same_survey_answered_in_two_languages_counts_together(app, make_app, runner, write_csv, smtp_server):
    rows = [candidate("de1@example.org", "de", application_ref="D1"),
            candidate("de2@example.org", "de", application_ref="D2"),
            candidate("en1@example.org", "en", application_ref="E1")]
    assert import_rows(runner, write_csv, rows).exit_code == 0
    send(runner)
    web = make_app(FEEDBACK_MIN_RESPONSES=1)
    scores = {"de1@example.org": (10, 5), "de2@example.org": (6, 3), "en1@example.org": (9, 4)}
    for address, (nps, communication) in scores.items():
        (path,) = links_in(message_to(smtp_server, address))
        client = web.test_client()
        page, thanks = _answer(client, path, nps=nps, communication=communication)
        lang = "de" if address.startswith("de") else "en"
        assert page_language(page.text) == (lang, "ltr")
        assert page_language(thanks.text)[0] == lang
        if lang == "de":  # the questions are the stored German wording of the same version
            assert "How likely are you to recommend" not in page.text
            assert "I was kept informed" not in page.text
    answered = dict(db.session.execute(sa.select(Survey.locale, sa.func.count()).join(Response, Response.survey_id == Survey.id)
                                       .group_by(Survey.locale)).all())
    assert answered == {"de": 2, "en": 1}
    with web.app_context():
        result = web.test_cli_runner().invoke(args=["feedback", "report", "--company", COMPANY, "--format", "json"])
    assert result.exit_code == 0, result.output
    overall = json.loads(result.stdout)["candidate_experience"]
    assert overall["responses"] == 3
    assert overall["nps"] == pytest.approx((2 - 1) / 3 * 100)  # 10 and 9 promote, 6 detracts
    assert overall["questions"]["communication"] == {"mean": pytest.approx(4.0), "n": 3}


def test_the_dashboard_breaks_figures_down_by_language(app, make_app, make_user, sign_in, runner, write_csv,
                                                       smtp_server):
    rows = [candidate(f"de{i}@example.org", "de", application_ref=f"D{i}") for i in range(2)]
    rows += [candidate("fr0@example.org", "fr", application_ref="F0"), candidate("en0@example.org", "", application_ref="E0")]
    assert import_rows(runner, write_csv, rows).exit_code == 0
    send(runner)
    web = make_app(FEEDBACK_MIN_RESPONSES=2)
    # four answers: the figures' snapshot moves every two (FEEDBACK_MIN_RESPONSES), so all four count
    for i, address in enumerate(["de0@example.org", "de1@example.org", "fr0@example.org", "en0@example.org"]):
        (path,) = links_in(message_to(smtp_server, address))
        _answer(web.test_client(), path, nps=10 - i, communication=5)
    make_user("boss@acme-robotics.example.com", "company", COMPANY)
    client = sign_in("boss@acme-robotics.example.com", on=web)
    company_id = db.session.scalar(sa.select(Application.company_id))
    page = client.get(f"/companies/{company_id}/dashboard", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    section = page.text[page.text.index('id="by-language"'):]
    section = section[:section.index("</section>")]
    rows = re.findall(r'<th scope="row">([^<]+)</th>\s*<td>(\d+)</td>', section)
    assert rows == [("English", "1"), ("German", "2"), ("French", "1")], section
    # the two German answers are shown; one French and one English answer are withheld under 2
    assert section.count("fewer than 2 responses") == 2
    assert "+100" in section  # the German NPS: 10 and 9


def test_the_language_switch_keeps_the_page_and_the_form_stays_in_that_language(app, runner, write_csv,
                                                                                 smtp_server):
    assert import_rows(runner, write_csv, [candidate("sw@example.org", "en")]).exit_code == 0
    send(runner)
    (path,) = links_in(message_to(smtp_server, "sw@example.org"))
    client = app.test_client()
    page = client.get(f"{path}?nps=7")
    assert page_language(page.text) == ("en", "ltr")
    switch = re.findall(r'<a href="([^"]+)" lang="ar"', page.text)
    # a link of its query alone: the same page, its score kept, whatever the page's path holds
    assert switch and switch[0].replace("&amp;", "&") == "?nps=7&lang=ar"
    arabic = client.get(path + switch[0].replace("&amp;", "&"))
    assert arabic.status_code == 200 and page_language(arabic.text) == ("ar", "rtl")
    assert 'value="7" checked' in arabic.text  # the score chosen in the e-mail is kept
    thanks = client.post(path, data={"csrf_token": csrf_token(arabic.text), "nps": "7"})
    assert thanks.status_code == 200 and page_language(thanks.text) == ("ar", "rtl")
    assert client.get(path).status_code == 410


def test_staff_pages_follow_the_browser_then_the_choice_kept_with_the_login(app, make_user, sign_in, web, runner,
                                                                          write_csv):
    assert import_rows(runner, write_csv, [candidate("seed@example.org", "")]).exit_code == 0
    make_user("recruiter@feedback.example", "recruiter", COMPANY)
    client = sign_in("recruiter@feedback.example")
    assert page_language(client.get("/recruiter/", headers={"Accept-Language": "de-DE,de;q=0.9"}).text)[0] == "de"
    assert page_language(client.get("/recruiter/", headers={"Accept-Language": "ar"}).text) == ("ar", "rtl")
    assert page_language(client.get("/recruiter/", headers={"Accept-Language": "it, en;q=0.5"}).text)[0] == "en"
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/recruiter/").text).group(1)
    chosen = client.post("/language", data={"csrf_token": token, "lang": "fr", "next": "/recruiter/?page=1"})
    assert chosen.status_code == 302 and chosen.headers["Location"].endswith("/recruiter/?page=1")
    assert client.post("/language", data={"csrf_token": token, "lang": "xx"}).status_code == 400
    assert client.post("/language", data={"lang": "de"}).status_code == 400  # no CSRF token
    again = sign_in("recruiter@feedback.example")  # a new session: the choice came with the login
    assert page_language(again.get("/recruiter/", headers={"Accept-Language": "de"}).text)[0] == "fr"


def test_an_unknown_default_locale_stops_the_app(monkeypatch):
    monkeypatch.setenv("FEEDBACK_DEFAULT_LOCALE", "tlh")
    with pytest.raises(ConfigError, match="FEEDBACK_DEFAULT_LOCALE"):
        feedback_config.TestConfig("sqlite://")
    monkeypatch.setenv("FEEDBACK_DEFAULT_LOCALE", "pt_br")
    assert feedback_config.TestConfig("sqlite://").FEEDBACK_DEFAULT_LOCALE == "pt-BR"


def test_the_default_locale_is_the_language_of_a_page_without_a_person(make_app):
    web = make_app(FEEDBACK_DEFAULT_LOCALE="de", BABEL_DEFAULT_LOCALE="de")
    page = web.test_client().get("/login")
    assert page_language(page.text) == ("de", "ltr")
    assert page_language(web.test_client().get("/login", headers={"Accept-Language": "fr"}).text)[0] == "fr"


@pytest.mark.parametrize("tag", ["de", "fr", "es", "pt-BR", "ar"])
def test_each_language_s_forms_render_and_submit(app, make_app, runner, write_csv, smtp_server, tag):
    """The candidate's and the company contact's forms, in the language of the candidate and of the
    company; a submission with a required answer missing comes back in that language too."""
    assert import_rows(runner, write_csv, [candidate("seed@example.org", "")]).exit_code == 0
    assert runner.invoke(args=["feedback", "companies", "locale", COMPANY, tag]).exit_code == 0
    rows = [outcome_row(candidate_email="person@example.org", application_ref="R-1", locale=tag)]
    assert import_rows(runner, write_csv, rows).exit_code == 0
    send(runner)
    web = make_app()
    direction = "rtl" if tag == "ar" else "ltr"
    for address, fields in (("person@example.org", {"nps": "8", "communication": "4"}),
                            ("hiring@acme-robotics.example.com", {"reasons": "stronger_match", "reconsider": "yes"})):
        (path,) = links_in(message_to(smtp_server, address))
        client = web.test_client()
        page = client.get(path)
        assert page.status_code == 200 and page_language(page.text) == (tag, direction)
        refused = client.post(path, data={"csrf_token": csrf_token(page.text)})
        assert refused.status_code == 400 and page_language(refused.text) == (tag, direction)
        assert "Please answer this question." not in refused.text and "This field is required." not in refused.text
        thanks = client.post(path, data={"csrf_token": csrf_token(page.text), **fields})
        assert thanks.status_code == 200 and page_language(thanks.text) == (tag, direction)
        assert "Thank you" not in thanks.text
    stored = db.session.scalars(sa.select(Survey.locale).join(Response, Response.survey_id == Survey.id)).all()
    assert stored == [tag, tag]  # each answer points at the wording it was given in


def test_the_language_switch_never_links_off_the_site(app):
    """Attack: a path that reads as another host (//evil.example/…) must not become the switch's links."""
    page = app.test_client().get("/", query_string="lang=fr&x=%22%3E", environ_overrides={"PATH_INFO": "//evil.example/login"})
    assert page.status_code == 404
    links = re.findall(r'<a href="([^"]*)" lang="[^"]+" hreflang=', page.text)
    assert len(links) == 6 and all(link.startswith("?") for link in links), links
    assert '">' not in "".join(links) and "evil" not in "".join(links)
    assert page_language(page.text)[0] == "fr"  # the choice still counts on an error page
