"""Companies, positions, candidates and the applications a recruiter imports."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow
from .base import UTCDateTime

STAGES = ("application", "screen", "interview", "final", "offer")
OUTCOMES = ("rejected", "withdrew", "offer_declined")
STAGE_LABELS = {
    "application": "Application",
    "screen": "Screening",
    "interview": "Interview",
    "final": "Final round",
    "offer": "Offer",
}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Company(db.Model):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The language of its contacts' mail and pages, and of its candidates who have none of their own
    # (a BCP 47 tag of feedback/i18n.py; none: FEEDBACK_DEFAULT_LOCALE).
    locale: Mapped[str | None] = mapped_column(sa.String(16))


class Position(db.Model):
    __tablename__ = "positions"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "title"),
        # The dashboard's version of a company's positions (their newest id) in one index step.
        sa.Index("ix_positions_company_id_id", "company_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(200))

    company: Mapped[Company] = relationship()


class Candidate(db.Model):
    __tablename__ = "candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Lower-cased normalised address: one person, one row, whatever the capitalisation.
    email: Mapped[str | None] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The language of their latest application that named one: their notices and /me pages use it.
    locale: Mapped[str | None] = mapped_column(sa.String(16))


class ImportBatch(db.Model):
    """One run of an outcomes import (CLI, upload or API)."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rows_read: Mapped[int] = mapped_column(default=0)
    applications_created: Mapped[int] = mapped_column(default=0)
    requests_queued: Mapped[int] = mapped_column(default=0)
    rows_known: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Application(db.Model):
    """A finished application: who, where, for which role, where it ended and how."""

    __tablename__ = "applications"
    __table_args__ = (
        sa.CheckConstraint(_in("stage", STAGES), name="stage"),
        sa.CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
        sa.CheckConstraint("outcome <> 'rejected' OR contact_email IS NOT NULL", name="rejection_contact"),
        # CONTRACT §4: identified by application_ref when given, else by the natural key.
        sa.Index(
            "uq_applications_company_ref",
            "company_id",
            "application_ref",
            unique=True,
            sqlite_where=sa.text("application_ref IS NOT NULL"),
            postgresql_where=sa.text("application_ref IS NOT NULL"),
        ),
        sa.Index(
            "uq_applications_natural_key",
            "company_id",
            "position_id",
            "candidate_id",
            "decided_on",
            unique=True,
            sqlite_where=sa.text("application_ref IS NULL"),
            postgresql_where=sa.text("application_ref IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    position_id: Mapped[int] = mapped_column(sa.ForeignKey("positions.id", ondelete="CASCADE"), index=True)
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("candidates.id", ondelete="CASCADE"), index=True)
    import_batch_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("import_batches.id", ondelete="SET NULL"), index=True
    )
    stage: Mapped[str] = mapped_column(sa.String(20))
    outcome: Mapped[str] = mapped_column(sa.String(20))
    decided_on: Mapped[date] = mapped_column(sa.Date)
    application_ref: Mapped[str | None] = mapped_column(sa.String(200))
    contact_email: Mapped[str | None] = mapped_column(sa.String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The candidate's name as this application's company gave it: what its mails and pages show.
    # A candidate is one row per address across tenants; their name there is never shown to one.
    candidate_name: Mapped[str | None] = mapped_column(sa.String(200))
    # The candidate's language for this application (CSV `locale`, the API, the connector), a
    # shipped BCP 47 tag; none: the company's, else FEEDBACK_DEFAULT_LOCALE.
    locale: Mapped[str | None] = mapped_column(sa.String(16))

    company: Mapped[Company] = relationship()
    position: Mapped[Position] = relationship()
    candidate: Mapped[Candidate] = relationship()
