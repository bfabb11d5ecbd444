"""What a page or an e-mail calls a stored code, in the reader's language (lazy: looked up when shown).

The codes' English labels live with their codes (models STAGE_LABELS, reports_text, surveys); each
one is marked here for the catalogues. Hand them to templates as ``str(...)``: a lazy string is
taken for markup by Jinja.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

STAGE_NAMES = {
    "application": _l("Application"),
    "screen": _l("Screening"),
    "interview": _l("Interview"),
    "final": _l("Final round"),
    "offer": _l("Offer"),
}
QUESTION_NAMES = {
    "communication": _l("Kept informed"),
    "timeliness": _l("Reasonable pace"),
    "role_clarity": _l("Role explained clearly"),
    "interviewer_preparation": _l("Interviewers prepared"),
    "fairness": _l("Fair chance to show skills"),
    "respect": _l("Treated with respect"),
    "technical_skills": _l("Technical skills"),
    "relevant_experience": _l("Relevant experience"),
    "communication_skills": _l("Communication"),
    "problem_solving": _l("Problem-solving"),
}
DECLINE_NAMES = {
    "compensation": _l("The pay or benefits"),
    "other_offer": _l("I accepted another offer"),
    "role_mismatch": _l("The role was not what I expected"),
    "process_length": _l("The process took too long"),
    "location": _l("Location, remote work or working hours"),
    "interview_experience": _l("How the interviews went"),
    "company": _l("What I learned about the company"),
    "personal": _l("Personal reasons"),
    "other": _l("Something else"),
}
REASON_NAMES = {
    "technical_skills": _l("Technical skills below what the role needs"),
    "experience": _l("Less relevant experience than the role needs"),
    "communication": _l("Communication below what the role needs"),
    "problem_solving": _l("Problem-solving below what the role needs"),
    "qualification": _l("A required qualification or certificate was missing"),
    "stronger_match": _l("Another candidate matched the requirements more closely"),
    "role_changed": _l("The role was closed, filled internally or changed"),
    "compensation": _l("Salary expectations outside the role's range"),
    "availability": _l("Start date, location or working hours did not fit"),
}
# Keyed by the English band label (BAND_LABELS is a list, 1 to 4).
BAND_NAMES = {
    "Not shown": _l("Not shown"),
    "Partly shown": _l("Partly shown"),
    "Met": _l("Met"),
    "Exceeded": _l("Exceeded"),
}

# Each stage as the sentence "ended at the … stage" names it (lower case in English): the survey
# form's STAGE_LABELS (feedback/models), within a sentence.
STAGE_IN_SENTENCE = {
    "application": _l("application"),
    "screen": _l("screening"),
    "interview": _l("interview"),
    "final": _l("final round"),
    "offer": _l("offer"),
}
