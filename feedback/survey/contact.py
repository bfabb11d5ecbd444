"""``/c/<token>``: a company contact's page of all their candidates, answered one after another."""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort, render_template

from ..extensions import limiter
from ..i18n import use_person_locale
from ..models import STAGE_LABELS
from ..queries.contacts import contact_requests
from ..services.responses import link_expires_at
from ..timeutil import utcnow
from ..tokens import contact_token, feedback_link_token, read_contact_token
from . import bp


@dataclass
class Sitting:
    """Where a contact stands: their candidates in decision order, with the next one to answer."""

    rows: list
    done: int
    next_row: object | None

    @property
    def total(self) -> int:
        return len(self.rows)

    def position_of(self, request_id: int) -> int:
        return next((number for number, row in enumerate(self.rows, start=1) if row.id == request_id), 0)

    @staticmethod
    def status(row) -> str:
        if row.answered_at is not None:
            return "done"
        return "expired" if utcnow() >= link_expires_at(row.link_issued_at) else "to do"


def sitting_of(request_id: int) -> Sitting:
    rows = contact_requests(request_id)
    open_rows = [row for row in rows if Sitting.status(row) == "to do"]
    return Sitting(rows, sum(row.answered_at is not None for row in rows), open_rows[0] if open_rows else None)


def sitting_links(sitting: Sitting, request_id: int) -> dict:
    """The links a page of the sitting offers: each open candidate's form, the next one, the summary."""
    return {
        "forms": {row.id: f"/f/{feedback_link_token(row.id)}" for row in sitting.rows
                  if Sitting.status(row) == "to do"},
        "summary": f"/c/{contact_token(request_id)}",
    }


@bp.route("/c/<token>")
@limiter.limit("60 per minute")
def contact(token: str):
    """Every candidate of the contact the token names, with their status; GET never answers."""
    request_id, expired = read_contact_token(token)
    if expired:
        return render_template("survey/contact_expired.html"), 410
    sitting = sitting_of(request_id) if request_id else None
    if not sitting or not sitting.rows:  # not ours, no company request, or an erased contact
        abort(404)
    use_person_locale(sitting.rows[0].locale)
    return render_template("survey/contact.html", sitting=sitting, links=sitting_links(sitting, request_id),
                           status=Sitting.status, stage_labels=STAGE_LABELS)
