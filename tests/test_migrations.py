"""The Alembic migrations build exactly the models' schema, and the schema enforces the model's rules."""
from __future__ import annotations

import hashlib
import hmac

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import outcome_row
from flask_migrate import upgrade
from sqlalchemy.exc import IntegrityError

from feedback.extensions import db
from feedback.models import Application, FeedbackRequest, Response
from feedback.models.base import render_migration_item
from feedback.timeutil import utcnow


def schema_differences(connection) -> list:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_item": render_migration_item}
    )
    return compare_metadata(context, db.metadata)


def test_migrated_schema_matches_the_models(app):
    with db.engine.connect() as connection:
        differences = schema_differences(connection)
    assert differences == []


def test_no_table_is_kept_by_triggers_at_head_and_the_downgrade_puts_them_back(app, import_csv):
    """Every counter is kept by the app's code at head. Below b7d4e9f2c613, request_tallies (kept by
    triggers again) hold what counting the requests gives, so the older revisions' code still reads
    the right figures."""
    from flask_migrate import downgrade

    def triggers() -> list[str]:
        if db.engine.dialect.name == "postgresql":
            return sorted(db.session.scalars(sa.text(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN "
                "('feedback_requests'::regclass, 'answers'::regclass)")))
        return sorted(db.session.scalars(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))

    assert triggers() == []
    assert import_csv([outcome_row(application_ref=f"T-{i}", candidate_email=f"t{i}@example.org")
                       for i in range(3)]).exit_code == 0
    db.session.execute(sa.update(FeedbackRequest).where(FeedbackRequest.audience == "candidate")
                       .values(first_sent_at=utcnow()))
    db.session.commit()
    db.session.remove()
    downgrade(revision="a4e6c2d9b815")
    assert "request_tallies_update" in triggers() and "answer_changes_delete" in triggers()
    assert sorted(tuple(row) for row in db.session.execute(sa.text(
        "SELECT audience, sent, completed FROM request_tallies"))) == [("candidate", 3, 0)]
    db.session.remove()
    upgrade()
    assert triggers() == []
    with db.engine.connect() as connection:
        assert schema_differences(connection) == []


def test_upgrade_builds_every_table_on_a_new_sqlite_file(make_app, tmp_path):
    path = tmp_path / "brand-new.db"
    fresh = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with fresh.app_context():
        assert sa.inspect(db.engine).get_table_names() == []
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert tables == set(db.metadata.tables) | {"alembic_version"}
        with db.engine.connect() as connection:
            assert schema_differences(connection) == []
            assert connection.scalar(sa.text("SELECT count(*) FROM alembic_version")) == 1
    assert path.stat().st_size > 0


@pytest.fixture
def imported(import_csv) -> dict:
    """One imported rejection: its application and candidate request, read back through SQL."""
    result = import_csv([outcome_row(application_ref="ATS-1")])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    application = db.session.execute(sa.select(Application.__table__)).mappings().one()
    request = db.session.execute(
        sa.select(FeedbackRequest.__table__).where(FeedbackRequest.audience == "candidate")
    ).mappings().one()
    db.session.rollback()
    return {"application": dict(application), "request": dict(request)}


def application_values(application: dict, **changes) -> dict:
    values = {key: value for key, value in application.items() if key != "id"}
    values["created_at"] = utcnow()
    values.update(changes)
    return values


def response_values(request: dict, application: dict) -> dict:
    return {
        "request_id": request["id"],
        "survey_id": request["survey_id"],
        "audience": "candidate",
        "company_id": application["company_id"],
        "position_id": application["position_id"],
        "stage": application["stage"],
        "outcome": application["outcome"],
        "submitted_at": utcnow(),
    }


def test_a_request_has_at_most_one_response(imported):
    values = response_values(imported["request"], imported["application"])
    db.session.execute(sa.insert(Response.__table__).values(values))
    db.session.flush()
    with pytest.raises(IntegrityError):
        db.session.execute(sa.insert(Response.__table__).values(values))
        db.session.flush()
    db.session.rollback()


def test_application_ref_is_unique_per_company(imported):
    application = imported["application"]
    duplicate = application_values(application, decided_on=application["decided_on"].replace(day=1))
    with pytest.raises(IntegrityError):
        db.session.execute(sa.insert(Application.__table__).values(duplicate))
        db.session.flush()
    db.session.rollback()
    # the same ref at another company is fine
    db.session.execute(
        sa.text("INSERT INTO companies (name, created_at) VALUES (:name, :now)"),
        {"name": "Other Corp", "now": utcnow()},
    )
    company_id = db.session.scalar(sa.text("SELECT id FROM companies WHERE name = 'Other Corp'"))
    db.session.execute(sa.insert(Application.__table__).values(application_values(application, company_id=company_id)))
    db.session.flush()
    db.session.rollback()


def test_natural_key_is_unique_without_a_ref(imported):
    application = imported["application"]
    values = application_values(application, application_ref=None, decided_on=application["decided_on"].replace(day=1))
    db.session.execute(sa.insert(Application.__table__).values(values))
    db.session.flush()
    with pytest.raises(IntegrityError):
        db.session.execute(sa.insert(Application.__table__).values(dict(values, created_at=utcnow())))
        db.session.flush()
    db.session.rollback()


def test_a_rejection_needs_a_contact_email(imported):
    application = imported["application"]
    values = application_values(application, application_ref="ATS-2", outcome="rejected", contact_email=None)
    with pytest.raises(IntegrityError):
        db.session.execute(sa.insert(Application.__table__).values(values))
        db.session.flush()
    db.session.rollback()
    # a withdrawal needs none
    db.session.execute(sa.insert(Application.__table__).values(dict(values, outcome="withdrew")))
    db.session.flush()
    db.session.rollback()


def test_stage_and_outcome_are_checked(imported):
    application = imported["application"]
    for changes in ({"stage": "lunch"}, {"outcome": "hired"}):
        values = application_values(application, application_ref="ATS-3", **changes)
        with pytest.raises(IntegrityError):
            db.session.execute(sa.insert(Application.__table__).values(values))
            db.session.flush()
        db.session.rollback()


def test_answer_facts_migration_backfills_existing_answers(app, import_csv):
    """Down to the revision before answer facts and up again: the copied columns and the tallies are
    rebuilt from the stored answers, and the report reads the same."""
    from flask_migrate import downgrade

    from feedback.models import AnswerTally, Company
    from feedback.queries.reports import company_report
    from feedback.services.responses import submit_response

    rows = [outcome_row(candidate_email=f"c{i}@example.org", application_ref=f"M-{i}", stage="interview")
            for i in range(6)]
    assert import_csv(rows).exit_code == 0
    requests = db.session.scalars(sa.select(FeedbackRequest).order_by(FeedbackRequest.id)).all()
    questions = {q.key: q.id for request in requests[:1] for q in request.survey.questions}
    for number, request in enumerate(r for r in requests if r.audience == "candidate"):
        submit_response(request.id, [{"question_id": questions["nps"], "number": 10 - number, "text": None},
                                  {"question_id": questions["communication"], "number": 1 + number % 5, "text": None}])
    db.session.commit()
    company = db.session.scalar(sa.select(Company))
    before = company_report(company, 5)
    tallies = sorted(tuple(row) for row in db.session.execute(sa.select(AnswerTally.__table__)))
    kept = rows_pointing_at_rebuilt_tables()
    assert kept["outbox messages"] > 0 and kept["responses linked to their request"] == 6
    db.session.remove()

    downgrade(revision="9637a755e900")
    with db.engine.connect() as connection:
        assert "answer_tallies" not in sa.inspect(connection).get_table_names()
        assert "company_id" not in {c["name"] for c in sa.inspect(connection).get_columns("answers")}
    upgrade()

    assert company_report(db.session.get(Company, company.id), 5) == before
    # SQLite rebuilds answers and feedback_requests: nothing that points at them may be lost.
    assert rows_pointing_at_rebuilt_tables() == kept
    assert sorted(tuple(row) for row in db.session.execute(sa.select(AnswerTally.__table__))) == tallies
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FeedbackRequest)
                             .where(FeedbackRequest.company_id == company.id)) == len(requests)
    with db.engine.connect() as connection:
        assert schema_differences(connection) == []


def rows_pointing_at_rebuilt_tables() -> dict[str, int]:
    from feedback.models import OutboxMessage

    return {
        "outbox messages": db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)),
        "responses linked to their request": db.session.scalar(
            sa.select(sa.func.count()).select_from(Response).where(Response.request_id.is_not(None))),
    }


def test_the_address_key_migration_carries_suppressions_past_the_secret_key(app, make_app, import_csv):
    """c8e2f4a6b913: a suppression hashed under SECRET_KEY, of an address the database holds, is
    re-hashed under the new address key, so it holds with none of today's keys configured; the
    unsubscribe verifier of today's key is kept."""
    from flask_migrate import downgrade

    from feedback.services.suppressions import suppressed_addresses

    assert import_csv([outcome_row(candidate_email="known@example.org", outcome="withdrew",
                                   company_contact_email="")]).exit_code == 0
    db.session.remove()
    downgrade(revision="b7d4e9f2c613")
    legacy = hmac.new(app.config["SECRET_KEY"].encode(), b"suppression:known@example.org", hashlib.sha256).hexdigest()
    db.session.execute(sa.text("INSERT INTO suppressions (address_hash, reason, created_at) "
                               "VALUES (:digest, 'unsubscribed', :now)"), {"digest": legacy, "now": utcnow()})
    db.session.commit()
    db.session.remove()
    upgrade()
    names = set(db.session.scalars(sa.text("SELECT name FROM app_keys")))
    assert names == {"address", "unsubscribe-verifier:1"}
    other = make_app(SECRET_KEY="a-key-that-never-hashed-anything-0123456789")
    with other.app_context():
        assert suppressed_addresses(["known@example.org", "new@example.org"]) == {"known@example.org"}
        db.session.rollback()
