"""Demo data for ``make run``: the sample outcomes, their e-mails in the dev mailbox, some answers."""
from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from .config import PROJECT_ROOT
from .extensions import db
from .i18n import SHIPPED
from .jobs.delivery import deliver_queued
from .models import AdviceReview, Application, Company, FeedbackRequest, Survey, User
from .services.accounts import create_user
from .services.imports import import_outcomes
from .services.moderation import review_advice
from .services.outcomes_csv import check_outcomes
from .services.responses import submit_response
from .services.surveys import survey_in
from .surveys.definitions import DECLINE_REASONS, REJECTION_REASONS
from .surveys.rules import applicable_questions, offers_not_applicable
from .timeutil import today, utcnow

DEMO_CSV = PROJECT_ROOT / "demo" / "outcomes-sample.csv"
DEMO_LANGUAGES = tuple(tag for tag in SHIPPED if tag != "en")
IMPROVE_TEXTS = [
    "Tell people sooner when the decision is made.",
    "The take-home task took far longer than the two hours announced.",
    "Interviewers had not read my CV.",
    "Share the salary range in the first call.",
    "Everyone was friendly and on time, thank you.",
    "One interviewer kept checking their phone.",
    "Clearer description of the team and the day-to-day work.",
]
STRENGTHEN_TEXTS = [
    "More hands-on experience with production incidents would help.",
    "Walk through concrete examples of trade-offs you made and why.",
    "Practise structuring answers to system design questions.",
    "Deeper knowledge of automated testing in CI pipelines.",
]


def _candidate_answers(rng: random.Random, mood: float, questions, application) -> list[dict]:
    answers = []
    for question in questions:
        if question.kind == "nps":
            answers.append({"question_id": question.id, "number": max(0, min(10, round(rng.gauss(6 + 3 * mood, 2)))), "text": None})
        elif question.kind == "likert":
            if offers_not_applicable(question, application) and rng.random() < 0.6:
                answers.append({"question_id": question.id, "number": None, "text": "not_applicable"})
            elif rng.random() < 0.95:
                answers.append({"question_id": question.id, "number": max(1, min(5, round(rng.gauss(3 + 1.5 * mood, 1)))), "text": None})
        elif question.kind == "choices":
            for code, _label in rng.sample(DECLINE_REASONS, rng.randint(1, 2)):
                answers.append({"question_id": question.id, "number": None, "text": code})
        elif question.kind == "text" and rng.random() < 0.4:
            answers.append({"question_id": question.id, "number": None, "text": rng.choice(IMPROVE_TEXTS)})
    return answers


def _company_answers(rng: random.Random, questions) -> list[dict]:
    answers = []
    for question in questions:
        if question.kind == "choices":
            for code, _label in rng.sample(REJECTION_REASONS, rng.randint(1, 2)):
                answers.append({"question_id": question.id, "number": None, "text": code})
        elif question.kind == "band":
            answers.append({"question_id": question.id, "number": rng.randint(1, 4), "text": None})
        elif question.kind == "text" and rng.random() < 0.5:
            answers.append({"question_id": question.id, "number": None, "text": rng.choice(STRENGTHEN_TEXTS)})
        elif question.kind == "yesno":
            yes = rng.random() < 0.5
            answers.append({"question_id": question.id, "number": int(yes), "text": "yes" if yes else "no"})
    return answers


DEMO_PASSWORD = "demo-password"
DEMO_LOGINS = ("admin@demo.example", "recruiter@demo.example", "company@demo.example")


def _contact_answers_at(rng: random.Random, feedback_request: FeedbackRequest) -> datetime:
    """A plausible moment for a demo contact's answer: most within a few working days of the decision,
    some late (never in the future); the request is taken as mailed on the decision day, so the
    follow-up figures of the demo have a spread to show."""
    decided = datetime.combine(feedback_request.application.decided_on, time(9), tzinfo=UTC)
    feedback_request.first_sent_at = min(feedback_request.first_sent_at or decided, decided)
    return min(decided + timedelta(days=rng.choice((0, 1, 1, 2, 3, 4, 5, 6, 8, 12)), hours=rng.randint(1, 8)),
               utcnow())


def _create_demo_logins() -> list:
    """An admin, a recruiter for half the companies, and a company user for the first company."""
    companies = db.session.scalars(sa.select(Company).order_by(Company.name)).all()
    admin = create_user(DEMO_LOGINS[0], DEMO_PASSWORD, "admin", [])
    recruiter = create_user(DEMO_LOGINS[1], DEMO_PASSWORD, "recruiter", companies[: len(companies) // 2])
    company = create_user(DEMO_LOGINS[2], DEMO_PASSWORD, "company", companies[:1])
    return [admin, recruiter, company]


def _review_some_advice(rng: random.Random, reviewer) -> None:
    """Approve most demo advice so the candidate view shows some; leave the rest in the queue."""
    for review in db.session.scalars(sa.select(AdviceReview).order_by(AdviceReview.id)):
        if rng.random() < 0.7:
            review_advice(review, "approve", reviewer)


def _give_some_candidates_their_language(rng: random.Random) -> None:
    """About one candidate in four gets a language other than English (as a CSV's ``locale`` column
    would give it), so that the dev mailbox, the forms and the dashboard's By language show them."""
    for application in db.session.scalars(sa.select(Application).order_by(Application.id)):
        if rng.random() < 0.25:
            application.locale = application.candidate.locale = rng.choice(DEMO_LANGUAGES)


def load_demo(answer_share: float, csv_path: Path = DEMO_CSV) -> list[str]:
    """Import the sample outcomes, deliver their mail to the dev mailbox, answer a share of it.

    Returns the lines to print: what was loaded (or that the database already held data), and the
    demo logins with where to sign in, every time, so a second run still tells them.
    """
    if db.session.scalar(sa.select(sa.func.count()).select_from(Company)):
        return ["The database already holds data; demo data not loaded.", *_login_lines()]
    with csv_path.open(encoding="utf-8-sig", newline="") as stream:
        rows = (row for row, _problems in check_outcomes(stream, today()) if row is not None)
        summary = import_outcomes(rows, source=f"demo: {csv_path.name}")
    rng = random.Random(2026)
    _give_some_candidates_their_language(rng)
    db.session.commit()
    delivered = deliver_queued()

    moods = {}
    answered = 0
    requests = db.session.scalars(sa.select(FeedbackRequest).order_by(FeedbackRequest.id)).all()
    for feedback_request in requests:
        if rng.random() >= answer_share:
            continue
        application = feedback_request.application
        mood = moods.setdefault(application.company_id, rng.uniform(-0.8, 0.8))
        if feedback_request.audience == "candidate":
            # Answered in the wording of the candidate's language, as their form showed it: the
            # answers point at that wording's questions, as the form's would.
            wording = survey_in(feedback_request.survey_id, application.locale) if application.locale else None
            survey = db.session.get(Survey, wording) if wording else feedback_request.survey
            answers = _candidate_answers(rng, mood, applicable_questions(survey, application), application)
            submit_response(feedback_request.id, answers, survey_id=wording)
        else:
            questions = applicable_questions(feedback_request.survey, application)
            answers = _company_answers(rng, questions)
            submit_response(feedback_request.id, answers, now=_contact_answers_at(rng, feedback_request))
        answered += 1
    logins = _create_demo_logins()
    _review_some_advice(rng, logins[0])
    db.session.commit()
    return [
        f"Demo data loaded: {summary.applications_created} applications, {delivered.sent} e-mails in the dev mailbox,",
        f"{answered} of {len(requests)} requests answered with made-up answers; the rest are yours to click.",
        *_login_lines(),
    ]


def _login_lines() -> list[str]:
    """Where to read the mail and sign in (PUBLIC_BASE_URL: DEV_PORT in dev mode), and the demo logins
    the database holds (none: it holds data of its own)."""
    base_url = current_app.config["PUBLIC_BASE_URL"]
    lines = [f"Read the e-mails at {base_url}/dev/mailbox/", ""]
    users = db.session.scalars(sa.select(User).where(User.email.in_(DEMO_LOGINS)).order_by(User.id)).all()
    if not users:
        return [*lines, "No demo logins in this database; create one with `flask --app wsgi feedback users create`."]
    return [
        *lines,
        f"Demo logins (password: {DEMO_PASSWORD}), sign in at {base_url}/login",
        *(f"  {user.role:<9} {user.email}" + (f"  ({', '.join(c.name for c in user.companies)})" if user.companies
          else f"  ({user.company.name})" if user.company else "  (every company)") for user in users),
    ]
