"""Which questions a person is asked, by what happened in their application."""
from __future__ import annotations

from typing import Protocol

STAGES_BEFORE_INTERVIEW = ("application", "screen")
OUTCOMES_LEFT_BY_CANDIDATE = ("withdrew", "offer_declined")


class Case(Protocol):
    """The two facts of an application that shape its survey."""

    outcome: str
    stage: str


def asks(question_key: str, application: Case) -> bool:
    """Whether the question is asked at all: decline reasons only when the candidate left."""
    return question_key != "decline_reasons" or application.outcome in OUTCOMES_LEFT_BY_CANDIDATE


def applicable_questions(survey, application: Case) -> list:
    """The questions of ``survey`` (a stored Survey) this person is asked."""
    return [question for question in survey.questions if asks(question.key, application)]


def offers_not_applicable(question, application: Case) -> bool:
    """Candidates who never reached an interview can say interviewer preparation does not apply."""
    return question.key == "interviewer_preparation" and application.stage in STAGES_BEFORE_INTERVIEW
