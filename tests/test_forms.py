"""The survey forms (CONTRACT §6): built from the definitions, accessible, validated, and safe with user text."""
from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from conftest import csrf_token, links_in, outcome_row

from feedback.extensions import db
from feedback.models import Answer, FeedbackRequest, Question, Response
from feedback.surveys.definitions import DECLINE_REASONS, LIKERT_KEYS, NOT_APPLICABLE

CONTACT = "hiring@acme-robotics.example.com"
CANDIDATE_KEYS = {"nps", *LIKERT_KEYS, "improve"}
COMPANY_KEYS = {"reasons", "technical_skills", "relevant_experience", "communication_skills", "problem_solving",
                "strengthen", "reconsider"}
ANSWERS = {
    "nps": "7",
    "communication": "4",
    "timeliness": "3",
    "role_clarity": "5",
    "interviewer_preparation": "4",
    "fairness": "4",
    "respect": "5",
    "improve": "Tell people sooner.",
}
COMPANY_ANSWERS = {
    "reasons": ["technical_skills", "stronger_match"],
    "technical_skills": "2",
    "relevant_experience": "3",
    "communication_skills": "4",
    "problem_solving": "1",
    "strengthen": "Practise system design with a concrete example.",
    "reconsider": "yes",
}
XSS = "<script>alert(1)</script> and {{7*7}} and {% raw %}"


# --- reading the HTML -------------------------------------------------------------------------

class FormPage(HTMLParser):
    """Inputs, textareas, fieldsets (with their legend and text) and error lists of a page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.inputs: list[dict] = []
        self.textareas: dict[str, dict] = {}
        self.fieldsets: list[dict] = []
        self.errors: dict[str, str] = {}
        self._open_fieldsets: list[dict] = []
        self._in_legend = False
        self._textarea: dict | None = None
        self._errors_id: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = {name: ("" if value is None else value) for name, value in attrs}
        if tag == "fieldset":
            fieldset = {"attrs": attributes, "legend": None, "text": "", "inputs": []}
            self.fieldsets.append(fieldset)
            self._open_fieldsets.append(fieldset)
        elif tag == "legend" and self._open_fieldsets:
            self._in_legend = True
            self._open_fieldsets[-1]["legend"] = ""
        elif tag == "input":
            attributes["_fieldset"] = self._open_fieldsets[-1] if self._open_fieldsets else None
            self.inputs.append(attributes)
            if self._open_fieldsets:
                self._open_fieldsets[-1]["inputs"].append(attributes)
        elif tag == "textarea":
            self._textarea = {"attrs": attributes, "text": ""}
            self.textareas[attributes.get("name", "")] = self._textarea
        elif tag == "ul" and "errors" in attributes.get("class", "").split():
            self._errors_id = attributes.get("id", "")
            self.errors[self._errors_id] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "fieldset" and self._open_fieldsets:
            self._open_fieldsets.pop()
        elif tag == "legend":
            self._in_legend = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "ul":
            self._errors_id = None

    def handle_data(self, data: str) -> None:
        for fieldset in self._open_fieldsets:
            fieldset["text"] += data
        if self._in_legend and self._open_fieldsets:
            self._open_fieldsets[-1]["legend"] += data
        if self._textarea is not None:
            self._textarea["text"] += data
        if self._errors_id is not None:
            self.errors[self._errors_id] += data

    def field_names(self) -> set[str]:
        names = {field["name"] for field in self.inputs if field.get("name") and field.get("type") != "hidden"}
        return names | set(self.textareas)

    def options(self, name: str) -> list[dict]:
        return [field for field in self.inputs if field.get("name") == name]

    def checked(self, name: str) -> list[str]:
        return [field["value"] for field in self.options(name) if "checked" in field]

    def fieldset_of(self, name: str) -> dict:
        (fieldset,) = {id(field["_fieldset"]): field["_fieldset"] for field in self.options(name)}.values()
        assert fieldset is not None, f"{name} is not in a fieldset"
        return fieldset


# --- helpers ----------------------------------------------------------------------------------

@pytest.fixture
def mail_links(import_csv, runner, smtp_server):
    """Import rows, deliver the mail, return {recipient: link path}."""

    def run(rows: list[dict]) -> dict[str, str]:
        imported = import_csv(rows)
        assert imported.exit_code == 0, imported.output
        sent = runner.invoke(args=["feedback", "send"])
        assert sent.exit_code == 0, sent.output
        links = {}
        for message in smtp_server.messages:
            (path,) = links_in(message)
            links[message["To"]] = path
        return links

    return run


def candidate(number: int, **values) -> dict:
    """A row with its own candidate and its own contact, so every e-mail carries one link."""
    values.setdefault("company_contact_email", f"hiring{number}@acme-robotics.example.com")
    return outcome_row(candidate_name=f"Person {number}", candidate_email=f"person{number}@example.org", **values)


def stored_answers(address: str) -> dict[str, list[tuple]]:
    """{question key: [(number, text), ...]} of the response to the request mailed to ``address``."""
    db.session.rollback()
    rows = db.session.execute(
        sa.select(Question.key, Answer.number, Answer.text)
        .join(Answer, Answer.question_id == Question.id)
        .join(Response, Response.id == Answer.response_id)
        .join(FeedbackRequest, FeedbackRequest.id == Response.request_id)
        .where(FeedbackRequest.recipient_email == address)
        .order_by(Answer.id)
    ).all()
    answers: dict[str, list[tuple]] = {}
    for key, number, text in rows:
        answers.setdefault(key, []).append((number, text))
    return answers


def nothing_stored() -> bool:
    db.session.rollback()
    responses = db.session.scalar(sa.select(sa.func.count()).select_from(Response))
    answered = db.session.scalar(
        sa.select(sa.func.count()).select_from(FeedbackRequest).where(FeedbackRequest.answered_at.is_not(None))
    )
    return responses == 0 and answered == 0


# --- which questions are asked ----------------------------------------------------------------

def test_decline_reasons_only_when_the_candidate_left(client, mail_links):
    links = mail_links([
        candidate(1, outcome="withdrew", stage="interview"),
        candidate(2, outcome="offer_declined", stage="offer"),
        candidate(3, outcome="rejected", stage="interview"),
    ])
    codes = [code for code, _label in DECLINE_REASONS]
    for address in ("person1@example.org", "person2@example.org"):
        page = FormPage(client.get(links[address]).text)
        boxes = page.options("decline_reasons")
        assert [box["type"] for box in boxes] == ["checkbox"] * len(codes)
        assert [box["value"] for box in boxes] == codes
        assert page.field_names() == CANDIDATE_KEYS | {"decline_reasons"}
    rejected = client.get(links["person3@example.org"])
    assert rejected.status_code == 200
    assert 'name="decline_reasons"' not in rejected.text
    assert FormPage(rejected.text).field_names() == CANDIDATE_KEYS


def test_decline_reasons_are_stored_one_row_per_choice(client, mail_links):
    links = mail_links([candidate(1, outcome="withdrew")])
    path = links["person1@example.org"]
    page = client.get(path)
    answered = client.post(path, data={"csrf_token": csrf_token(page.text), **ANSWERS,
                                       "decline_reasons": ["other_offer", "process_length"]})
    assert answered.status_code == 200
    assert stored_answers("person1@example.org")["decline_reasons"] == [(None, "other_offer"), (None, "process_length")]


def test_interviewer_preparation_does_not_apply_before_interviews(client, mail_links):
    """Declined on the application: not asked about interviewers or a fair chance at all (issue 16);
    after a screen: "does not apply" is offered for interviewer preparation."""
    links = mail_links([
        candidate(1, stage="application"),
        candidate(2, stage="screen"),
        candidate(3, stage="interview"),
        candidate(4, stage="final"),
    ])
    application = client.get(links["person1@example.org"]).text
    assert 'name="interviewer_preparation"' not in application and 'name="fairness"' not in application
    assert 'name="communication"' in application
    for address in ("person2@example.org",):
        page = FormPage(client.get(links[address]).text)
        values = [option["value"] for option in page.options("interviewer_preparation")]
        assert values == ["1", "2", "3", "4", "5", NOT_APPLICABLE]
        assert "Does not apply" in page.fieldset_of("interviewer_preparation")["text"]
        # Only that question offers it.
        assert NOT_APPLICABLE not in [option["value"] for option in page.options("communication")]
    for address in ("person3@example.org", "person4@example.org"):
        html = client.get(links[address]).text
        page = FormPage(html)
        assert [option["value"] for option in page.options("interviewer_preparation")] == ["1", "2", "3", "4", "5"]
        assert NOT_APPLICABLE not in html


def test_not_applicable_is_stored_but_left_out_of_the_means(client, mail_links, runner, app):
    preparation = [NOT_APPLICABLE, "2", NOT_APPLICABLE, "5", "4"]
    communication = ["1", "2", "3", "4", "4"]
    links = mail_links([candidate(number, stage="screen", outcome="withdrew") for number in range(5)])
    for number in range(5):
        path = links[f"person{number}@example.org"]
        page = client.get(path)
        answered = client.post(path, data={
            "csrf_token": csrf_token(page.text), **ANSWERS,
            "interviewer_preparation": preparation[number], "communication": communication[number],
        })
        assert answered.status_code == 200, answered.text
    assert stored_answers("person0@example.org")["interviewer_preparation"] == [(None, NOT_APPLICABLE)]
    assert stored_answers("person1@example.org")["interviewer_preparation"] == [(2, None)]

    report = runner.invoke(args=["feedback", "report", "--company", "Acme Robotics", "--format", "json"])
    assert report.exit_code == 0, report.output
    experience = json.loads(report.output)["candidate_experience"]
    assert app.config["FEEDBACK_MIN_RESPONSES"] == 5
    assert experience["responses"] == 5
    assert experience["withheld"] is False
    numeric = [int(value) for value in preparation if value != NOT_APPLICABLE]
    for group in (experience, experience["by_stage"]["screen"]):
        assert group["withheld"] is False
        assert group["questions"]["interviewer_preparation"]["n"] == len(numeric) == 3
        assert group["questions"]["interviewer_preparation"]["mean"] == pytest.approx(sum(numeric) / len(numeric))
        assert group["questions"]["communication"] == {"mean": pytest.approx(14 / 5), "n": 5}


# --- what the page shows ----------------------------------------------------------------------

def test_candidate_page_names_company_and_position_and_is_accessible(client, mail_links):
    links = mail_links([candidate(1, company="Granite Bank", position="Backend Engineer")])
    response = client.get(links["person1@example.org"])
    assert response.status_code == 200
    assert "Granite Bank" in response.text and "Backend Engineer" in response.text
    page = FormPage(response.text)
    assert page.field_names() == CANDIDATE_KEYS

    radios = {field["name"] for field in page.inputs if field.get("type") == "radio"}
    assert radios == {"nps", *LIKERT_KEYS}
    for name in radios:
        fieldset = page.fieldset_of(name)
        assert fieldset["legend"] and fieldset["legend"].strip(), f"{name} has no legend"
        for option in page.options(name):
            assert option["type"] == "radio"
            assert f'for="{option["id"]}"' in response.text, f"{option['id']} has no label"
    assert [option["value"] for option in page.options("nps")] == [str(value) for value in range(11)]
    assert "Granite Bank" in page.fieldset_of("nps")["legend"]

    improve = page.textareas["improve"]["attrs"]
    assert int(improve["maxlength"]) == 2000
    assert f'for="{improve["id"]}"' in response.text


def test_company_contact_form_has_its_own_keys(client, mail_links):
    links = mail_links([outcome_row()])
    response = client.get(links[CONTACT])
    assert response.status_code == 200
    assert "Ana Silva" in response.text and "QA Engineer" in response.text and "Acme Robotics" in response.text
    page = FormPage(response.text)
    assert page.field_names() == COMPANY_KEYS
    assert [box["type"] for box in page.options("reasons")] == ["checkbox"] * 9
    for name in ("technical_skills", "relevant_experience", "communication_skills", "problem_solving"):
        assert [option["value"] for option in page.options(name)] == ["1", "2", "3", "4"]
        assert page.fieldset_of(name)["legend"].strip()
    assert [option["value"] for option in page.options("reconsider")] == ["yes", "no"]
    assert int(page.textareas["strengthen"]["attrs"]["maxlength"]) == 1500


def test_company_contact_must_give_reasons_and_reconsider_is_stored_as_one(client, mail_links):
    links = mail_links([outcome_row()])
    path = links[CONTACT]
    page = client.get(path)
    csrf = csrf_token(page.text)
    without_reasons = {key: value for key, value in COMPANY_ANSWERS.items() if key != "reasons"}
    refused = client.post(path, data={"csrf_token": csrf, **without_reasons})
    assert refused.status_code == 400
    form = FormPage(refused.text)
    assert "reasons-errors" in form.errors
    assert "reasons-errors" in form.fieldset_of("reasons")["attrs"].get("aria-describedby", "")
    assert form.checked("reconsider") == ["yes"]
    assert form.checked("technical_skills") == ["2"]
    assert form.textareas["strengthen"]["text"].strip() == COMPANY_ANSWERS["strengthen"]
    assert nothing_stored()

    answered = client.post(path, data={"csrf_token": csrf, **COMPANY_ANSWERS})
    assert answered.status_code == 200
    assert "Thank you" in answered.text
    stored = stored_answers(CONTACT)
    assert stored["reconsider"] == [(1, "yes")]
    assert stored["reasons"] == [(None, "technical_skills"), (None, "stronger_match")]
    assert stored["technical_skills"] == [(2, None)]
    assert stored["problem_solving"] == [(1, None)]
    assert stored["strengthen"] == [(None, COMPANY_ANSWERS["strengthen"])]
    assert set(stored) == COMPANY_KEYS


def test_company_contact_no_is_stored_as_zero(client, mail_links):
    links = mail_links([outcome_row()])
    path = links[CONTACT]
    page = client.get(path)
    answered = client.post(path, data={"csrf_token": csrf_token(page.text), "reasons": "role_changed",
                                       "reconsider": "no"})
    assert answered.status_code == 200
    assert stored_answers(CONTACT) == {"reasons": [(None, "role_changed")], "reconsider": [(0, "no")]}


# --- invalid submissions ----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("field", "changes", "message"),
    [
        ("nps", {"nps": None}, "Please answer this question."),
        ("nps", {"nps": "11"}, None),
        ("nps", {"nps": "-1"}, None),
        ("communication", {"communication": "6"}, None),
        ("interviewer_preparation", {"interviewer_preparation": NOT_APPLICABLE}, None),
        ("improve", {"improve": "x" * 2001}, "Please keep this under 2000 characters."),
    ],
    ids=["nps-missing", "nps-11", "nps-minus-1", "likert-6", "not-applicable-at-interview", "improve-too-long"],
)
def test_invalid_submission_is_shown_again_with_the_answers_kept(client, mail_links, field, changes, message):
    links = mail_links([candidate(1)])
    path = links["person1@example.org"]
    page = client.get(path)
    data = {"csrf_token": csrf_token(page.text), **ANSWERS}
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    refused = client.post(path, data=data)
    assert refused.status_code == 400
    form = FormPage(refused.text)
    errors_id = f"{field}-errors"
    assert list(form.errors) == [errors_id], form.errors
    assert form.errors[errors_id].strip()
    if message:
        assert message in form.errors[errors_id]
    # Beside the field: inside its fieldset, or referenced by the textarea.
    if field in form.textareas:
        assert errors_id in form.textareas[field]["attrs"]["aria-describedby"]
    else:
        fieldset = form.fieldset_of(field)
        assert form.errors[errors_id].strip() in fieldset["text"]
        assert errors_id in fieldset["attrs"]["aria-describedby"]
    # Everything else entered is kept.
    for key, value in ANSWERS.items():
        if key in changes:
            continue
        if key == "improve":
            assert form.textareas["improve"]["text"].strip() == value
        else:
            assert form.checked(key) == [value], key
    if field == "improve":
        assert form.textareas["improve"]["text"].strip() == "x" * 2001
    assert nothing_stored()
    # The link still works after a refused submission.
    assert client.post(path, data={"csrf_token": data["csrf_token"], **ANSWERS}).status_code == 200


def test_text_with_nul_is_refused_not_a_server_error(client, mail_links):
    links = mail_links([candidate(1)])
    path = links["person1@example.org"]
    page = client.get(path)
    refused = client.post(path, data={"csrf_token": csrf_token(page.text), **ANSWERS, "improve": "a\x00b"})
    # Refused before the view by the app-wide input guard (feedback/security.py), with a page that says why.
    assert refused.status_code == 400
    assert "NUL character" in refused.text
    assert nothing_stored()
    assert client.get(path).status_code == 200  # the link is still live


def test_user_text_is_stored_verbatim_and_shown_escaped(client, mail_links):
    links = mail_links([candidate(1)])
    path = links["person1@example.org"]
    page = client.get(path)
    csrf = csrf_token(page.text)
    refused = client.post(path, data={"csrf_token": csrf, **ANSWERS, "nps": "", "improve": XSS})
    assert refused.status_code == 400
    assert "<script>alert(1)" not in refused.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in refused.text
    assert "{{7*7}}" in refused.text
    assert FormPage(refused.text).textareas["improve"]["text"].strip() == XSS
    assert nothing_stored()

    answered = client.post(path, data={"csrf_token": csrf, **ANSWERS, "improve": XSS})
    assert answered.status_code == 200
    assert "<script>alert(1)" not in answered.text
    assert stored_answers("person1@example.org")["improve"] == [(None, XSS)]
