"""`feedback report`: figures worked out here from known answers given through the real web form."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from conftest import csrf_token, links_in, outcome_row

from feedback.models import STAGES
from feedback.reports_text import report_text

COMPANY = "Acme Robotics"
CONTACT = "hiring@acme-robotics.example.com"

# The answers each candidate gives, by stage: (nps, communication, extra fields)
INTERVIEW_NPS = [10, 9, 8, 7, 6, 0]
INTERVIEW_COMMUNICATION = [5, 4, 4, 3, 2, 1]
SCREEN_NPS = [10, 10]
SCREEN_COMMUNICATION = [3, None]  # the second screen candidate skips the question


def nps(values: list[int]) -> float:
    promoters = sum(1 for value in values if value >= 9)
    detractors = sum(1 for value in values if value <= 6)
    return (promoters - detractors) / len(values) * 100


def mean(values: list[int | None]) -> float:
    answered = [value for value in values if value is not None]
    return sum(answered) / len(answered)


def answered(values: list[int | None]) -> int:
    return sum(1 for value in values if value is not None)


def invoke(app, *args: str):
    """Run a CLI command in ``app`` (the command would otherwise run in the current app context)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def answer(client, message, **fields) -> None:
    (path,) = links_in(message)
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    data = {"csrf_token": csrf_token(page.text)}
    data.update({key: str(value) for key, value in fields.items() if value is not None})
    response = client.post(path, data=data, follow_redirects=True)
    assert response.status_code == 200, response.text
    assert "Thank you" in response.text


def candidate_message(smtp_server, address: str):
    (message,) = [m for m in smtp_server.messages if m["To"] == address]
    return message


def import_and_send(import_csv, runner, rows: list[dict]) -> None:
    imported = import_csv(rows)
    assert imported.exit_code == 0, imported.output
    sent = runner.invoke(args=["feedback", "send"])
    assert sent.exit_code == 0, sent.output


def build_dataset(import_csv, runner, client, smtp_server) -> None:
    """6 answered interview rejections, 2 answered screen withdrawals, 1 unanswered final-round row,
    and one other company's answer that must not count."""
    rows = []
    for i in range(len(INTERVIEW_NPS)):
        rows.append(outcome_row(candidate_name=f"Interviewed {i}", candidate_email=f"int{i}@example.org",
                                stage="interview", outcome="rejected", application_ref=f"INT-{i}"))
    for i in range(len(SCREEN_NPS)):
        rows.append(outcome_row(candidate_name=f"Screened {i}", candidate_email=f"scr{i}@example.org",
                                stage="screen", outcome="withdrew", company_contact_email="",
                                application_ref=f"SCR-{i}"))
    rows.append(outcome_row(candidate_email="final@example.org", stage="final", outcome="offer_declined",
                            company_contact_email="", application_ref="FIN-1"))
    rows.append(outcome_row(company="Other Corp", candidate_email="other@example.org", stage="interview",
                            outcome="withdrew", company_contact_email="", application_ref="OTH-1"))
    import_and_send(import_csv, runner, rows)

    for i, (score, communication) in enumerate(zip(INTERVIEW_NPS, INTERVIEW_COMMUNICATION)):
        answer(client, candidate_message(smtp_server, f"int{i}@example.org"), nps=score, communication=communication)
    for i, (score, communication) in enumerate(zip(SCREEN_NPS, SCREEN_COMMUNICATION)):
        # before an interview, "interviewer preparation" may be answered as not applying
        answer(client, candidate_message(smtp_server, f"scr{i}@example.org"), nps=score,
               communication=communication, interviewer_preparation="not_applicable")
    answer(client, candidate_message(smtp_server, "other@example.org"), nps=0, communication=1)


def json_report(app, company: str = COMPANY) -> dict:
    result = invoke(app, "feedback", "report", "--company", company, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_withheld(group: dict, responses: int) -> None:
    assert group["responses"] == responses
    assert group["withheld"] is True
    assert group["nps"] is None
    assert all(question["mean"] is None for question in group["questions"].values())


def test_report_json_figures(app, import_csv, runner, client, smtp_server):
    build_dataset(import_csv, runner, client, smtp_server)
    report = json_report(app)

    assert report["company"] == COMPANY
    assert report["min_responses"] == 5
    candidates = len(INTERVIEW_NPS) + len(SCREEN_NPS) + 1
    assert report["requests"]["candidate"] == {"sent": candidates, "completed": len(INTERVIEW_NPS) + len(SCREEN_NPS)}
    assert report["requests"]["company"] == {"sent": len(INTERVIEW_NPS), "completed": 0}

    overall = report["candidate_experience"]
    all_nps = INTERVIEW_NPS + SCREEN_NPS
    all_communication = INTERVIEW_COMMUNICATION + SCREEN_COMMUNICATION
    assert overall["responses"] == len(all_nps)
    assert overall["withheld"] is False
    assert overall["nps"] == pytest.approx(nps(all_nps))
    assert overall["questions"]["communication"]["mean"] == pytest.approx(mean(all_communication))
    assert overall["questions"]["communication"]["n"] == answered(all_communication)
    # "does not apply" is no number: it neither counts nor drags the mean
    assert overall["questions"]["interviewer_preparation"] == {"mean": None, "n": 0}
    assert overall["questions"]["respect"] == {"mean": None, "n": 0}

    by_stage = overall["by_stage"]
    assert set(by_stage) == set(STAGES)
    interview = by_stage["interview"]
    assert interview["responses"] == len(INTERVIEW_NPS)
    assert interview["withheld"] is False
    assert interview["nps"] == pytest.approx(nps(INTERVIEW_NPS))
    assert interview["nps"] == pytest.approx(0.0)
    assert interview["questions"]["communication"]["mean"] == pytest.approx(mean(INTERVIEW_COMMUNICATION))
    assert interview["questions"]["communication"]["n"] == len(INTERVIEW_COMMUNICATION)

    assert_withheld(by_stage["screen"], len(SCREEN_NPS))
    for stage in ("application", "final", "offer"):
        assert_withheld(by_stage[stage], 0)


def test_report_figures_are_not_rounded_in_json(app, import_csv, runner, client, smtp_server):
    build_dataset(import_csv, runner, client, smtp_server)
    report = json_report(app)
    interview = report["candidate_experience"]["by_stage"]["interview"]
    figure = interview["questions"]["communication"]["mean"]
    assert figure == pytest.approx(19 / 6, abs=1e-12)
    assert figure != round(figure, 2)


def test_threshold_withholds_at_k_minus_one_and_shows_at_k(app, make_app, import_csv, runner, client, smtp_server):
    strict = make_app(FEEDBACK_MIN_RESPONSES=3)
    rows = [outcome_row(candidate_email=f"c{i}@example.org", application_ref=f"ATS-{i}", outcome="withdrew",
                        company_contact_email="") for i in range(3)]
    import_and_send(import_csv, runner, rows)
    scores = [10, 3, 9]
    for i in range(2):
        answer(client, candidate_message(smtp_server, f"c{i}@example.org"), nps=scores[i], respect=4)

    report = json_report(strict)
    assert report["min_responses"] == 3
    assert_withheld(report["candidate_experience"], 2)
    assert_withheld(report["candidate_experience"]["by_stage"]["interview"], 2)
    # the same data under the default threshold
    assert json_report(app)["min_responses"] == 5

    answer(client, candidate_message(smtp_server, "c2@example.org"), nps=scores[2], respect=5)
    report = json_report(strict)
    overall = report["candidate_experience"]
    assert overall["responses"] == 3
    assert overall["withheld"] is False
    assert overall["nps"] == pytest.approx(nps(scores))
    assert overall["questions"]["respect"]["mean"] == pytest.approx(mean([4, 4, 5]))
    assert overall["by_stage"]["interview"]["withheld"] is False
    assert overall["by_stage"]["interview"]["nps"] == pytest.approx(nps(scores))
    # still withheld under the default threshold of 5
    assert_withheld(json_report(app)["candidate_experience"], 3)


def test_report_text_is_readable_and_rounds(app, import_csv, runner, client, smtp_server):
    build_dataset(import_csv, runner, client, smtp_server)
    result = invoke(app, "feedback", "report", "--company", COMPANY, "--format", "text")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert COMPANY in text
    assert "NPS" in text
    assert "withheld" in text
    assert "Other Corp" not in text
    overall_communication = mean(INTERVIEW_COMMUNICATION + SCREEN_COMMUNICATION)
    interview_communication = mean(INTERVIEW_COMMUNICATION)
    assert f"{overall_communication:.2f}" in text
    assert f"{interview_communication:.2f}" in text
    assert repr(overall_communication) not in text
    assert repr(interview_communication) not in text
    assert f"NPS {nps(INTERVIEW_NPS + SCREEN_NPS):+.0f}" in text
    screen_line = next(line for line in text.splitlines() if "Screening" in line)
    assert "withheld" in screen_line
    interview_line = next(line for line in text.splitlines() if "Interview" in line and "responses" in line)
    assert "withheld" not in interview_line
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_report_text_is_the_default_format(app, import_csv):
    assert import_csv([outcome_row()]).exit_code == 0
    result = invoke(app, "feedback", "report", "--company", COMPANY)
    assert result.exit_code == 0, result.output
    assert COMPANY in result.stdout and "withheld" in result.stdout


def test_unknown_company_is_an_error(app, import_csv):
    assert import_csv([outcome_row()]).exit_code == 0
    result = invoke(app, "feedback", "report", "--company", "No Such Company", "--format", "json")
    assert result.exit_code != 0
    assert result.stderr.startswith("error:")
    assert "No Such Company" in result.stderr
    assert result.stdout == ""


def test_company_names_match_case_insensitively(app, import_csv):
    assert import_csv([outcome_row()]).exit_code == 0
    for spelling in ("acme robotics", "ACME ROBOTICS", "Acme Robotics"):
        report = json_report(app, spelling)
        assert report["company"] == COMPANY
        assert report["requests"]["candidate"] == {"sent": 0, "completed": 0}


def answer_fields(client, path: str, fields: dict) -> None:
    """Post a form with repeated fields (lists) through the real page."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    data = {"csrf_token": csrf_token(page.text), **fields}
    response = client.post(path, data=data, follow_redirects=True)
    assert response.status_code == 200, response.text
    assert "Thank you" in response.text


def test_running_tallies_give_the_same_report_as_counting_the_answers(app, import_csv, runner, client, smtp_server):
    """The report reads answer_tallies, kept up to date answer by answer; counting the answers
    themselves (the API snapshot's path), or recounting the tallies, gives the same figures."""
    from feedback.extensions import db
    from feedback.models import AnswerTally, Company, Response
    from feedback.queries.reports import company_report
    from feedback.services.responses import rebuild_answer_tallies

    build_dataset(import_csv, runner, client, smtp_server)
    (digest,) = [m for m in smtp_server.messages if m["To"] == CONTACT]
    for number, path in enumerate(links_in(digest)[:3]):
        answer_fields(client, path, {"reasons": ["technical_skills", "stronger_match"][: 1 + number % 2],
                                     "technical_skills": str(1 + number), "reconsider": "yes" if number else "no"})
    (withdrawn,) = [m for m in smtp_server.messages if m["To"] == "final@example.org"]
    answer_fields(client, links_in(withdrawn)[0], {"nps": "7", "decline_reasons": ["compensation", "other_offer"]})

    with app.app_context():
        company = db.session.scalar(sa.select(Company).where(Company.name == COMPANY))
        newest = db.session.scalar(sa.select(sa.func.max(Response.id)))
        from_tallies = company_report(company, 5)
        from_answers = company_report(company, 5, upto=newest)
        live = sorted(tuple(row) for row in db.session.execute(sa.select(AnswerTally.__table__)))
        rebuild_answer_tallies()
        db.session.commit()
        rebuilt = sorted(tuple(row) for row in db.session.execute(sa.select(AnswerTally.__table__)))
        after_rebuild = company_report(company, 5)
    assert from_tallies == from_answers == after_rebuild
    assert live == rebuilt
    assert from_tallies["candidate_feedback"]["responses"] == 3
    assert from_tallies["candidate_feedback"]["reasons"] == {"technical_skills": 3, "stronger_match": 1}
    assert from_tallies["candidate_feedback"]["bands"]["technical_skills"] == {"mean": 2.0, "n": 3}
    assert from_tallies["candidate_feedback"]["open_to_future_roles"] == pytest.approx(2 / 3)
    assert from_tallies["candidate_experience"]["decline_reasons"] == {"compensation": 1, "other_offer": 1}
    # the text report names reasons as the pages do, never by their codes (issue 19)
    text = report_text(from_tallies)
    assert "Technical skills below what the role needs (3)" in text
    assert "I accepted another offer (1)" in text
    assert "technical_skills (" not in text and "other_offer (" not in text
    # the other company's answer is in no figure of this one
    assert from_tallies["candidate_experience"]["responses"] == len(INTERVIEW_NPS) + len(SCREEN_NPS) + 1


def test_request_counts_follow_every_writer_of_requests(app, import_csv, runner, client, smtp_server):
    """The report's requests mailed and answered always equal counting the requests: after the
    sender's marks and the answers' claims, and after writes that bypass the app's services
    (bulk updates and deletes, a company's cascade)."""
    from feedback.extensions import db
    from feedback.models import Company, FeedbackRequest
    from feedback.queries.figures import request_counts

    def counted(company_id: int) -> dict:
        rows = db.session.execute(
            sa.select(FeedbackRequest.audience, sa.func.count(FeedbackRequest.first_sent_at),
                      sa.func.count(FeedbackRequest.answered_at))
            .where(FeedbackRequest.company_id == company_id).group_by(FeedbackRequest.audience))
        counts = {"candidate": {"sent": 0, "completed": 0}, "company": {"sent": 0, "completed": 0}}
        counts.update({audience: {"sent": sent, "completed": completed} for audience, sent, completed in rows})
        return counts

    build_dataset(import_csv, runner, client, smtp_server)
    with app.app_context():
        company_id = db.session.scalar(sa.select(Company.id).where(Company.name == COMPANY))
        answered = len(INTERVIEW_NPS) + len(SCREEN_NPS)
        assert request_counts(company_id) == counted(company_id) == {
            "candidate": {"sent": answered + 1, "completed": answered},
            "company": {"sent": len(INTERVIEW_NPS), "completed": 0}}

        requests = FeedbackRequest.__table__
        ids = list(db.session.scalars(sa.select(requests.c.id).where(requests.c.company_id == company_id)
                                      .order_by(requests.c.id)))
        # one statement changing several rows both ways, a delete
        db.session.execute(sa.update(requests).where(requests.c.id.in_(ids[:3])).values(first_sent_at=None))
        db.session.execute(sa.update(requests).where(requests.c.id.in_(ids[3:5])).values(answered_at=None))
        db.session.execute(sa.update(requests).where(requests.c.id == ids[0]).values(first_sent_at=sa.func.now()))
        db.session.execute(sa.delete(requests).where(requests.c.id == ids[-1]))
        db.session.commit()
        assert request_counts(company_id) == counted(company_id)
        # a company's removal takes its requests
        db.session.execute(sa.delete(Company.__table__).where(Company.__table__.c.id == company_id))
        db.session.commit()
        assert request_counts(company_id) == {"candidate": {"sent": 0, "completed": 0},
                                              "company": {"sent": 0, "completed": 0}}
