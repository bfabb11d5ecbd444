"""The two built-in surveys (CONTRACT §6), as data.

Changing any wording here means raising that survey's ``version``: the stored questions of a
version never change, so old answers keep the wording they answered (see services/surveys.py).
Prompts may name ``{company}``; it is filled in when the form is shown.
"""
from __future__ import annotations

CANDIDATE_EXPERIENCE = "candidate_experience"
CANDIDATE_FEEDBACK = "candidate_feedback"

LIKERT_LABELS = ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"]
BAND_LABELS = ["Not shown", "Partly shown", "Met", "Exceeded"]
NOT_APPLICABLE = "not_applicable"

LIKERT_KEYS = ("communication", "timeliness", "role_clarity", "interviewer_preparation", "fairness", "respect")
BAND_KEYS = ("technical_skills", "relevant_experience", "communication_skills", "problem_solving")

DECLINE_REASONS = [
    ["compensation", "The pay or benefits"],
    ["other_offer", "I accepted another offer"],
    ["role_mismatch", "The role was not what I expected"],
    ["process_length", "The process took too long"],
    ["location", "Location, remote work or working hours"],
    ["interview_experience", "How the interviews went"],
    ["company", "What I learned about the company"],
    ["personal", "Personal reasons"],
    ["other", "Something else"],
]

# Job-related reasons only (DOMAIN.md): nothing that can hint at a protected characteristic,
# and no "culture fit".
REJECTION_REASONS = [
    ["technical_skills", "Technical skills below what the role needs"],
    ["experience", "Less relevant experience than the role needs"],
    ["communication", "Communication below what the role needs"],
    ["problem_solving", "Problem-solving below what the role needs"],
    ["qualification", "A required qualification or certificate was missing"],
    ["stronger_match", "Another candidate matched the requirements more closely"],
    ["role_changed", "The role was closed, filled internally or changed"],
    ["compensation", "Salary expectations outside the role's range"],
    ["availability", "Start date, location or working hours did not fit"],
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
        "title": "How did the hiring process feel?",
        "questions": [
            {
                "key": "nps",
                "kind": "nps",
                "prompt": "How likely are you to recommend applying to {company} to a friend?",
                "options": ["Not at all likely", "Extremely likely"],
                "required": True,
            },
            _likert("communication", "I was kept informed about where my application stood."),
            _likert("timeliness", "The process moved at a reasonable pace."),
            _likert("role_clarity", "The role was explained clearly."),
            _likert("interviewer_preparation", "The interviewers were prepared for our conversations."),
            _likert("fairness", "I had a fair chance to show my skills."),
            _likert("respect", "I was treated with respect."),
            {
                "key": "decline_reasons",
                "kind": "choices",
                "prompt": "What made you decide not to go on? Choose all that apply.",
                "options": DECLINE_REASONS,
            },
            {
                "key": "improve",
                "kind": "text",
                "prompt": "What could {company} have done better?",
                "help_text": "Optional. The company sees this without your name, and only once enough people have answered.",
                "max_length": 2000,
            },
        ],
    },
    {
        "key": CANDIDATE_FEEDBACK,
        "version": 1,
        "audience": "company",
        "title": "Feedback for a candidate you declined",
        "questions": [
            {
                "key": "reasons",
                "kind": "choices",
                "prompt": "Which job-related reasons led to the decision? Choose all that apply.",
                "options": REJECTION_REASONS,
                "required": True,
            },
            _band("technical_skills", "Technical skills for this role"),
            _band("relevant_experience", "Relevant experience"),
            _band("communication_skills", "Communication"),
            _band("problem_solving", "Problem-solving"),
            {
                "key": "strengthen",
                "kind": "text",
                "prompt": "What could the candidate strengthen for roles like this one?",
                "help_text": "Keep it about the job: skills, experience, examples. It is reviewed before the candidate sees it.",
                "max_length": 1500,
            },
            {
                "key": "reconsider",
                "kind": "yesno",
                "prompt": "Would you consider this candidate for future roles?",
                "required": True,
            },
        ],
    },
]
