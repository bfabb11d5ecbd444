"""The candidate view's words (issue 16): each reason said to the person reading it, whether it is
about the company rather than about them, and one concrete next step; what each band means."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

# code -> (what the company noted, said to the candidate; about the company, not the candidate; next step)
# The words are lazy (translated when shown): reason_words and next_steps give them as str.
REASONS: dict[str, tuple[str, bool, str]] = {
    "technical_skills": (
        _l("The technical skills the role needs did not yet come through at the level it asks for."), False,
        _l("Pick the one or two skills the job advert stresses most and practise them on a small project you can "
           "show, or take a short course with exercises.")),
    "experience": (
        _l("Your experience so far was less close to this role than the company needed."), False,
        _l("In your next applications, lead with the experience nearest to the role, with one line on what you did "
           "and what came of it.")),
    "communication": (
        _l("How you explained your thinking came across less clearly than the role needs."), False,
        _l("Practise answering two or three typical questions aloud, two minutes each: the situation, what you did, "
           "the result. Record yourself once and listen back.")),
    "problem_solving": (
        _l("How you worked through the problems was below what the role needs."), False,
        _l("Practise thinking aloud on problems like the ones you were given: say what you assume, start with the "
           "simplest approach, then improve it.")),
    "qualification": (
        _l("A qualification or certificate the role requires was missing."), False,
        _l("Check which qualification the role named; if you want roles like it, plan how you could get it and say "
           "so in your next application.")),
    "stronger_match": (
        _l("Another candidate matched the requirements more closely. This says more about who else applied than "
           "about you."), False,
        _l("Nothing in particular to fix: keep applying for similar roles. The skill bands, where given, show where "
           "you stood.")),
    "role_changed": (
        _l("The role was closed, filled internally or changed. This was about the company's plans, not about you."),
        True, _l("Nothing to work on here. If you liked the company, look out for its next openings.")),
    "compensation": (
        _l("Your salary expectations and the role's pay range did not meet."), True,
        _l("Check the usual pay for similar roles where you live, and ask early in a process what the range is.")),
    "availability": (
        _l("The start date, location or working hours did not fit."), True,
        _l("Say early which start date, place and hours work for you, and ask about theirs.")),
}

# The reasons about the company's plans or the role's terms, shown apart and never as shortcomings.
COMPANY_REASONS = tuple(code for code, (_words, about_company, _step) in REASONS.items() if about_company)


def reason_words(code: str) -> str:
    """A reason code as the candidate reads it (a code of an older survey as it is)."""
    return str(REASONS[code][0]) if code in REASONS else code


# A band is how the company rated what you showed against what the role needs. Keyed by the
# English band label (definitions.BAND_LABELS); the meanings are lazy, translated when shown.
BAND_MEANINGS = {
    "Not shown": _l("you did not get to show this, or it fell clearly short of what the role needs"),
    "Partly shown": _l("some of it was there, not yet at the level the role needs"),
    "Met": _l("what the role needs"),
    "Exceeded": _l("more than the role needs"),
}

# The next step for a skill rated "Not shown" or "Partly shown": the one of the reason about that skill.
SKILL_REASONS = {"technical_skills": "technical_skills", "relevant_experience": "experience",
                 "communication_skills": "communication", "problem_solving": "problem_solving"}
LOW_BANDS = (1, 2)


def next_steps(reasons: list[str], bands: dict[str, int]) -> list[str]:
    """One concrete next step per reason and per low band, each once, in the order they were given."""
    codes = [*reasons, *(SKILL_REASONS[key] for key, band in bands.items() if band in LOW_BANDS)]
    steps: list[str] = []
    for code in codes:
        step = str(REASONS.get(code, ("", False, ""))[2])
        if step and step not in steps:
            steps.append(step)
    return steps
