"""The company report as text for a person at a terminal (rounding happens here, not in JSON)."""
from __future__ import annotations

from .models import STAGE_LABELS
from .surveys.definitions import BAND_KEYS, DECLINE_REASONS, LIKERT_KEYS, REJECTION_REASONS

QUESTION_LABELS = {
    "communication": "Kept informed",
    "timeliness": "Reasonable pace",
    "role_clarity": "Role explained clearly",
    "interviewer_preparation": "Interviewers prepared",
    "fairness": "Fair chance to show skills",
    "respect": "Treated with respect",
    "technical_skills": "Technical skills",
    "relevant_experience": "Relevant experience",
    "communication_skills": "Communication",
    "problem_solving": "Problem-solving",
}
# The same human labels the dashboard shows, never the stored codes.
DECLINE_LABELS = dict(DECLINE_REASONS)
REASON_LABELS = dict(REJECTION_REASONS)


def _rate(done: int, sent: int) -> str:
    return f"{100 * done / sent:.0f}%" if sent else "-"


def _nps(value: float | None) -> str:
    return "-" if value is None else f"{value:+.0f}"


def _mean(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def report_text(report: dict) -> str:
    """Render ``company_report(...)`` for a terminal."""
    k = report["min_responses"]
    lines = [f"Feedback report: {report['company']}", ""]
    lines.append(f"{'Requests':<22}{'sent':>8}{'answered':>10}{'rate':>7}")
    for audience, label in (("candidate", "to candidates"), ("company", "to the company")):
        counts = report["requests"][audience]
        lines.append(f"{label:<22}{counts['sent']:>8}{counts['completed']:>10}{_rate(counts['completed'], counts['sent']):>7}")
    lines.append("")

    experience = report["candidate_experience"]
    lines.append(f"Candidate experience: {experience['responses']} responses")
    if experience["withheld"]:
        lines.append(f"  Not enough responses yet: figures are shown from {k} responses.")
    else:
        lines.append(f"  NPS {_nps(experience['nps'])}")
        lines.append(f"  {'Question (1-5, agree = 5)':<32}{'mean':>6}{'n':>6}")
        for key in LIKERT_KEYS:
            figure = experience["questions"][key]
            lines.append(f"  {QUESTION_LABELS[key]:<32}{_mean(figure['mean']):>6}{figure['n']:>6}")
        if experience.get("decline_reasons"):
            lines.append("  Why candidates walked away: " + ", ".join(
                f"{DECLINE_LABELS.get(code, code)} ({count})" for code, count in experience["decline_reasons"].items()))
    lines.append("")
    lines.append("  By stage:")
    for stage, group in experience["by_stage"].items():
        label = STAGE_LABELS.get(stage, stage)
        if group["withheld"]:
            lines.append(f"  {label:<14}{group['responses']:>4} responses  (withheld: fewer than {k})")
        else:
            worst = min(
                ((key, figure["mean"]) for key, figure in group["questions"].items() if figure["mean"] is not None),
                key=lambda item: item[1], default=None,
            )
            weakest = f", weakest: {QUESTION_LABELS[worst[0]]} {_mean(worst[1])}" if worst else ""
            lines.append(f"  {label:<14}{group['responses']:>4} responses  NPS {_nps(group['nps'])}{weakest}")
    lines.append("")

    feedback = report["candidate_feedback"]
    lines.append(f"Feedback given to declined candidates: {feedback['responses']} responses")
    if feedback["responses"]:
        lines.append("  Reasons: " + ", ".join(
            f"{REASON_LABELS.get(code, code)} ({count})" for code, count in feedback["reasons"].items()))
        lines.append("  Skill bands (1 not shown - 4 exceeded): " + ", ".join(
            f"{QUESTION_LABELS[key]} {_mean(feedback['bands'][key]['mean'])}" for key in BAND_KEYS))
        share = feedback["open_to_future_roles"]
        if share is not None:
            lines.append(f"  Open to the candidate for future roles: {100 * share:.0f}%")
    lines.append("")
    lines.extend(follow_up_lines(report["follow_up"], k))
    return "\n".join(lines)


def _days(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g} working day" + ("" if value == 1 else "s")


def follow_up_lines(follow_up: dict, k: int) -> list[str]:
    """The follow-up speed part of the text report."""
    sla, feedback = follow_up["sla_days"], follow_up["company_feedback"]
    lines = [f"Follow-up speed (feedback due within {sla} working days of the decision)"]
    lines.append(f"  Asked: {feedback['due']}  given: {feedback['given']}  "
                 f"within {sla} working days: {feedback['within_sla']} ({_rate(feedback['within_sla'], feedback['due'])})  "
                 f"overdue now: {feedback['overdue']}")
    lines.append(f"  Median time to feedback: {_days(feedback['median_days'])}")
    for name, label in (("within_sla", "feedback on time"), ("late_or_never", "feedback late or never")):
        group = follow_up["by_speed"][name]
        shown = f"withheld: fewer than {k}" if group["withheld"] else f"NPS {_nps(group['nps'])}"
        lines.append(f"  Candidates with {label:<24}{group['responses']:>4} responses  ({shown})")
    return lines
