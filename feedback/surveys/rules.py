"""Which questions a person is asked, by what happened in their application."""
from __future__ import annotations

from typing import Protocol

STAGES_BEFORE_INTERVIEW = ("application", "screen")
OUTCOMES_LEFT_BY_CANDIDATE = ("withdrew", "offer_declined")


class Case(Protocol):
    """The two facts of an application that shape its survey."""

    outcome: str
    stage: str


# The one table of which questions fit the stage reached (the form, the reports and the anonymity
# counts all follow it: a question not asked has no answer to count). Declined on the application
# alone, a candidate met no interviewer and had no chance to show their skills.
NOT_ASKED_AT_STAGE = {
    "interviewer_preparation": ("application",),
    "fairness": ("application",),
}


def asks(question_key: str, application: Case) -> bool:
    """Whether the question is asked at all: decline reasons only when the candidate left; the
    interview questions only once there was one (NOT_ASKED_AT_STAGE)."""
    if question_key == "decline_reasons" and application.outcome not in OUTCOMES_LEFT_BY_CANDIDATE:
        return False
    return application.stage not in NOT_ASKED_AT_STAGE.get(question_key, ())


def applicable_questions(survey, application: Case) -> list:
    """The questions of ``survey`` (a stored Survey) this person is asked."""
    return [question for question in survey.questions if asks(question.key, application)]


def offers_not_applicable(question, application: Case) -> bool:
    """Candidates who never reached an interview can say interviewer preparation does not apply."""
    return question.key == "interviewer_preparation" and application.stage in STAGES_BEFORE_INTERVIEW
