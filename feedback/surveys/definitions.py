"""The two built-in surveys (CONTRACT §6), as data.

Changing any wording here means raising that survey's ``version``: the stored questions of a
version never change, so old answers keep the wording they answered (see services/surveys.py).
Prompts may name ``{company}``; it is filled in when the form is shown.

Every wording is English here and marked with ``N_`` for the catalogues: each shipped language is
stored as its own wording of the same version (services/surveys.py), translated when it is stored.
A corrected translation shows from the next version on (the stored wording never changes).
"""
from __future__ import annotations


def N_(text: str) -> str:
    """Marks ``text`` for the catalogues (pybabel's N_ keyword); translated when a wording is stored."""
    return text


CANDIDATE_EXPERIENCE = "candidate_experience"
CANDIDATE_FEEDBACK = "candidate_feedback"

LIKERT_LABELS = [N_("Strongly disagree"), N_("Disagree"), N_("Neither agree nor disagree"), N_("Agree"), N_("Strongly agree")]
BAND_LABELS = [N_("Not shown"), N_("Partly shown"), N_("Met"), N_("Exceeded")]
NOT_APPLICABLE = "not_applicable"

LIKERT_KEYS = ("communication", "timeliness", "role_clarity", "interviewer_preparation", "fairness", "respect")
BAND_KEYS = ("technical_skills", "relevant_experience", "communication_skills", "problem_solving")

DECLINE_REASONS = [
    ["compensation", N_("The pay or benefits")],
    ["other_offer", N_("I accepted another offer")],
    ["role_mismatch", N_("The role was not what I expected")],
    ["process_length", N_("The process took too long")],
    ["location", N_("Location, remote work or working hours")],
    ["interview_experience", N_("How the interviews went")],
    ["company", N_("What I learned about the company")],
    ["personal", N_("Personal reasons")],
    ["other", N_("Something else")],
]

# Job-related reasons only (DOMAIN.md): nothing that can hint at a protected characteristic,
# and no "culture fit".
REJECTION_REASONS = [
    ["technical_skills", N_("Technical skills below what the role needs")],
    ["experience", N_("Less relevant experience than the role needs")],
    ["communication", N_("Communication below what the role needs")],
    ["problem_solving", N_("Problem-solving below what the role needs")],
    ["qualification", N_("A required qualification or certificate was missing")],
    ["stronger_match", N_("Another candidate matched the requirements more closely")],
    ["role_changed", N_("The role was closed, filled internally or changed")],
    ["compensation", N_("Salary expectations outside the role's range")],
    ["availability", N_("Start date, location or working hours did not fit")],
]


def _likert(key: str, prompt: str) -> dict:
    return {"key": key, "kind": "likert", "prompt": prompt, "options": LIKERT_LABELS}


def _band(key: str, prompt: str) -> dict:
    return {"key": key, "kind": "band", "prompt": prompt, "options": BAND_LABELS}


BUILTIN_SURVEYS: list[dict] = [
    {
        "key": CANDIDATE_EXPERIENCE,
        "version": 1,
        "audience": "candidate",
        "title": N_("How did the hiring process feel?"),
        "questions": [
            {
                "key": "nps",
                "kind": "nps",
                "prompt": N_("How likely are you to recommend applying to {company} to a friend?"),
                "options": [N_("Not at all likely"), N_("Extremely likely")],
                "required": True,
            },
            _likert("communication", N_("I was kept informed about where my application stood.")),
            _likert("timeliness", N_("The process moved at a reasonable pace.")),
            _likert("role_clarity", N_("The role was explained clearly.")),
            _likert("interviewer_preparation", N_("The interviewers were prepared for our conversations.")),
            _likert("fairness", N_("I had a fair chance to show my skills.")),
            _likert("respect", N_("I was treated with respect.")),
            {
                "key": "decline_reasons",
                "kind": "choices",
                "prompt": N_("What made you decide not to go on? Choose all that apply."),
                "options": DECLINE_REASONS,
            },
            {
                "key": "improve",
                "kind": "text",
                "prompt": N_("What could {company} have done better?"),
                "help_text": N_("Optional. The company sees this without your name, and only once enough people have answered."),
                "max_length": 2000,
            },
        ],
    },
    {
        "key": CANDIDATE_FEEDBACK,
        "version": 1,
        "audience": "company",
        "title": N_("Feedback for a candidate you declined"),
        "questions": [
            {
                "key": "reasons",
                "kind": "choices",
                "prompt": N_("Which job-related reasons led to the decision? Choose all that apply."),
                "options": REJECTION_REASONS,
                "required": True,
            },
            _band("technical_skills", N_("Technical skills for this role")),
            _band("relevant_experience", N_("Relevant experience")),
            _band("communication_skills", N_("Communication")),
            _band("problem_solving", N_("Problem-solving")),
            {
                "key": "strengthen",
                "kind": "text",
                "prompt": N_("What could the candidate strengthen for roles like this one?"),
                "help_text": N_("Keep it about the job: skills, experience, examples. It is reviewed before the candidate sees it."),
                "max_length": 1500,
            },
            {
                "key": "reconsider",
                "kind": "yesno",
                "prompt": N_("Would you consider this candidate for future roles?"),
                "required": True,
            },
        ],
    },
]
