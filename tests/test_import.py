"""`flask feedback import`: the outcomes CSV as a recruiter feeds it in (CONTRACT §3 and §4)."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from conftest import BAD_CSV, HEADER, SAMPLE_CSV, outcome_row
from email_validator import EmailNotValidError, validate_email

from feedback.extensions import db
from feedback.models import Application, Candidate, Company, FeedbackRequest, ImportBatch, OutboxMessage, Position
from feedback.timeutil import today

PROBLEM = re.compile(r"^line (\d+): ([^:]+): (.+)$")
WRITTEN = (Company, Position, Candidate, Application, FeedbackRequest, OutboxMessage, ImportBatch)

# outcomes-bad.csv, line by line: (line, column) of its one problem, and a word its message must hold.
# Line 2 (BAD-1) is valid; line 11 is a formula holding a link as the name, which a person field
# refuses; the quoted address on line 9 runs on to line 10, so line 10 is not a row of its own.
BAD_FILE_PROBLEMS = {
    (3, "candidate_email"): "not-an-email",
    (4, "company"): "required",
    (5, "stage"): "lunch",
    (6, "outcome"): "hired",
    (7, "decided_on"): "05/10/2026",
    (8, "application_ref"): "line 2",
    (9, "candidate_email"): "line break",
    (11, "candidate_name"): "without a link",
}


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def assert_nothing_written() -> None:
    assert {model.__name__: count(model) for model in WRITTEN} == {model.__name__: 0 for model in WRITTEN}


def problems(result) -> list[tuple[int, str, str]]:
    """The `line N: column: message` lines the command printed on stderr."""
    found = []
    for line in result.stderr.splitlines():
        match = PROBLEM.match(line)
        if match:
            found.append((int(match[1]), match[2], match[3]))
    return found


def problem_keys(result) -> list[tuple[int, str]]:
    return [(line, column) for line, column, _message in problems(result)]


def stdout_lines(result) -> list[str]:
    return result.stdout.splitlines()


def import_path(runner, path, *args: str):
    return runner.invoke(args=["feedback", "import", str(path), *args])


def two_rows() -> list[dict]:
    return [
        outcome_row(application_ref="ATS-1"),
        outcome_row(candidate_name="Bo Chen", candidate_email="bo.chen@example.org", outcome="withdrew",
                    stage="screen", company_contact_email="", application_ref="ATS-2"),
    ]


def rows_for_header(rows: list[dict], header: list[str]) -> list[dict]:
    """Key rows by the header's spelling of each column (" CANDIDATE_NAME " for candidate_name)."""
    return [{name: row[name.strip().lower()] for name in header} for row in rows]


# --- The bad sample file ----------------------------------------------------------------------

def test_bad_file_reports_one_problem_per_bad_line_and_writes_nothing(runner):
    result = import_path(runner, BAD_CSV)

    assert result.exit_code == 1
    found = problems(result)
    keys = [(line, column) for line, column, _message in found]
    assert set(keys) == set(BAD_FILE_PROBLEMS)
    assert len(keys) == len(set(keys)), f"a line reported twice: {keys}"
    assert len({line for line, _column in keys}) == len(keys), "more than one problem for a line"
    for line, column, message in found:
        assert BAD_FILE_PROBLEMS[(line, column)] in message, (line, column, message)
    other = [line for line in result.stderr.splitlines() if line.strip() and not PROBLEM.match(line)]
    assert all(line.startswith("error:") for line in other), other
    assert "new applications" not in result.stdout
    assert count(Application) == 0
    assert count(OutboxMessage) == 0
    assert_nothing_written()


def test_skip_invalid_imports_the_valid_lines_of_the_bad_file(runner):
    result = import_path(runner, BAD_CSV, "--skip-invalid")

    assert result.exit_code == 0, result.output
    assert set(problem_keys(result)) == set(BAD_FILE_PROBLEMS)
    lines = stdout_lines(result)
    assert "rows read: 9" in lines
    assert db.session.scalar(sa.select(ImportBatch.rows_read)) == 9  # the batch page says the same
    assert "new applications: 1" in lines
    assert "requests queued: 2" in lines
    assert "rows already known: 0" in lines
    assert "invalid rows skipped: 8" in lines
    refs = set(db.session.scalars(sa.select(Application.application_ref)))
    assert refs == {"BAD-1"}
    names = set(db.session.scalars(sa.select(Candidate.name)))
    assert names == {"Ana Silva"}
    assert count(FeedbackRequest) == 2
    assert count(OutboxMessage) == 2
    assert "victim@example.net" not in set(db.session.scalars(sa.select(OutboxMessage.to_address)))


def test_skip_invalid_does_not_skip_a_broken_header(runner, write_csv):
    header = [column for column in HEADER if column != "outcome"]
    path = write_csv([outcome_row()], header=header)

    result = import_path(runner, path, "--skip-invalid")

    assert result.exit_code == 1
    assert problem_keys(result) == [(1, "outcome")]
    assert_nothing_written()


# --- File formats -----------------------------------------------------------------------------

UPPER_SPACED = [f"  {column.upper()} " for column in HEADER]
REORDERED = list(reversed(HEADER))


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"bom": True}, id="bom"),
        pytest.param({"delimiter": ";"}, id="semicolon"),
        pytest.param({"line_ending": "\r\n"}, id="crlf"),
        pytest.param({"header": REORDERED}, id="column-order"),
        pytest.param({"header": UPPER_SPACED}, id="upper-case-spaced-header"),
        pytest.param({"bom": True, "delimiter": ";", "line_ending": "\r\n", "header": UPPER_SPACED[::-1]},
                     id="all-at-once"),
    ],
)
def test_file_variants_import_the_same_rows(runner, write_csv, options):
    rows = two_rows()
    # A comma inside a value: with semicolons as separators it is just text.
    rows[1]["position"] = "Engineer, Backend"
    header = options.get("header", HEADER)
    path = write_csv(rows_for_header(rows, header), **options)

    result = import_path(runner, path)

    assert result.exit_code == 0, result.output
    lines = stdout_lines(result)
    assert "rows read: 2" in lines
    assert "new applications: 2" in lines
    assert "requests queued: 3" in lines
    stored = db.session.execute(
        sa.select(Candidate.name, Candidate.email, Position.title, Application.stage, Application.outcome,
                  Application.application_ref, Application.decided_on)
        .join(Application.candidate).join(Application.position)
        .order_by(Application.application_ref)
    ).all()
    assert [tuple(row) for row in stored] == [
        ("Ana Silva", "ana.silva@example.org", "QA Engineer", "interview", "rejected", "ATS-1", date(2026, 10, 2)),
        ("Bo Chen", "bo.chen@example.org", "Engineer, Backend", "screen", "withdrew", "ATS-2", date(2026, 10, 2)),
    ]
    assert db.session.scalars(sa.select(Company.name)).all() == ["Acme Robotics"]


# --- Idempotent re-import ---------------------------------------------------------------------

def test_reimport_by_application_ref_creates_nothing(import_csv):
    rows = two_rows()
    first = import_csv(rows)
    assert first.exit_code == 0, first.output
    queued = count(OutboxMessage)
    assert queued == 3

    # The same applications (same refs), with details changed in the ATS since.
    changed = [dict(row, stage="final", decided_on="2026-10-09", candidate_name="Renamed") for row in rows]
    again = import_csv(changed)

    assert again.exit_code == 0, again.output
    lines = stdout_lines(again)
    assert "new applications: 0" in lines
    assert "rows already known: 2" in lines
    assert "requests queued: 0" in lines
    assert count(Application) == 2
    assert count(FeedbackRequest) == 3
    assert count(OutboxMessage) == queued


def test_reimport_by_natural_key_creates_nothing(import_csv):
    rows = [outcome_row(), outcome_row(candidate_email="bo@example.org", outcome="offer_declined", stage="offer")]
    first = import_csv(rows)
    assert first.exit_code == 0, first.output
    assert count(OutboxMessage) == 3

    again = import_csv(rows)

    assert again.exit_code == 0, again.output
    lines = stdout_lines(again)
    assert "new applications: 0" in lines
    assert "rows already known: 2" in lines
    assert "requests queued: 0" in lines
    assert count(Application) == 2
    assert count(OutboxMessage) == 3


def test_natural_key_includes_the_decision_date(import_csv):
    assert import_csv([outcome_row()]).exit_code == 0

    later = import_csv([outcome_row(), outcome_row(decided_on="2026-10-20")])

    assert later.exit_code == 0, later.output
    lines = stdout_lines(later)
    assert "new applications: 1" in lines
    assert "rows already known: 1" in lines
    assert "requests queued: 2" in lines
    assert count(Application) == 2
    assert count(Candidate) == 1


def test_company_name_case_does_not_change_identity(import_csv):
    first = import_csv([outcome_row(application_ref="ATS-7"), outcome_row(candidate_email="bo@example.org")])
    assert first.exit_code == 0, first.output

    again = import_csv([
        outcome_row(company="ACME robotics", application_ref="ATS-7"),
        outcome_row(company="acme ROBOTICS", candidate_email="Bo@Example.org"),
    ])

    assert again.exit_code == 0, again.output
    lines = stdout_lines(again)
    assert "new applications: 0" in lines
    assert "rows already known: 2" in lines
    assert "requests queued: 0" in lines
    assert db.session.scalars(sa.select(Company.name)).all() == ["Acme Robotics"]
    assert count(Application) == 2
    assert count(OutboxMessage) == 4


def test_company_name_case_counts_as_a_repeat_within_a_file(import_csv):
    result = import_csv([
        outcome_row(application_ref="ATS-7"),
        outcome_row(company="ACME robotics", candidate_email="bo@example.org", application_ref="ATS-7"),
    ])

    assert result.exit_code == 1
    ((line, column, message),) = problems(result)
    assert (line, column) == (3, "application_ref")
    assert "line 2" in message
    assert_nothing_written()


# --- Dry run ----------------------------------------------------------------------------------

def test_dry_run_of_a_valid_file_writes_nothing_and_summarises(import_csv):
    result = import_csv(two_rows(), "--dry-run")

    assert result.exit_code == 0, result.output
    lines = stdout_lines(result)
    assert "rows read: 2" in lines
    assert "valid rows: 2" in lines
    assert "invalid rows: 0" in lines
    assert any("nothing was written" in line for line in lines)
    assert_nothing_written()


def test_dry_run_of_the_bad_file_lists_problems_summarises_and_fails(runner):
    result = import_path(runner, BAD_CSV, "--dry-run")

    assert result.exit_code == 1
    assert set(problem_keys(result)) == set(BAD_FILE_PROBLEMS)
    lines = stdout_lines(result)
    assert "rows read: 9" in lines
    assert "valid rows: 1" in lines
    assert "invalid rows: 8" in lines
    assert_nothing_written()


def test_dry_run_with_skip_invalid_writes_nothing(runner):
    result = import_path(runner, BAD_CSV, "--dry-run", "--skip-invalid")

    assert result.exit_code == 0, result.output
    assert set(problem_keys(result)) == set(BAD_FILE_PROBLEMS)
    assert "valid rows: 1" in stdout_lines(result)
    assert_nothing_written()


# --- One problem per bad row, with its line ---------------------------------------------------

def _tomorrow() -> str:
    return (today() + timedelta(days=1)).isoformat()


SINGLE_ROW_ERRORS = [
    *[pytest.param({column: ""}, column, "required", id=f"missing-{column}")
      for column in ("candidate_name", "candidate_email", "company", "position", "stage", "outcome", "decided_on")],
    pytest.param({"candidate_email": "   "}, "candidate_email", "required", id="blank-candidate_email"),
    pytest.param({"candidate_email": "ana.silva.example.org"}, "candidate_email", "ana.silva.example.org",
                 id="address-without-at"),
    pytest.param({"candidate_email": "ana silva@example.org"}, "candidate_email", "not a valid e-mail address",
                 id="address-with-space"),
    pytest.param({"candidate_email": "ana@example.org, bo@example.org"}, "candidate_email",
                 "not a valid e-mail address", id="two-addresses"),
    pytest.param({"company_contact_email": "hiring-at-acme"}, "company_contact_email", "hiring-at-acme",
                 id="bad-contact-address"),
    pytest.param({"stage": "onsite"}, "stage", "onsite", id="unknown-stage"),
    pytest.param({"outcome": "hired"}, "outcome", "hired", id="unknown-outcome"),
    pytest.param({"decided_on": "05/10/2026"}, "decided_on", "YYYY-MM-DD", id="date-day-first"),
    pytest.param({"decided_on": "2026-13-01"}, "decided_on", "YYYY-MM-DD", id="date-month-13"),
    pytest.param({"decided_on": "2026-02-30"}, "decided_on", "YYYY-MM-DD", id="date-feb-30"),
    pytest.param({"decided_on": "2026-10-02T10:00"}, "decided_on", "YYYY-MM-DD", id="date-with-time"),
    pytest.param({"decided_on": _tomorrow()}, "decided_on", "future", id="date-tomorrow"),
    pytest.param({"outcome": "rejected", "company_contact_email": ""}, "company_contact_email", "rejected",
                 id="rejected-without-contact"),
    pytest.param({"candidate_name": "Ana\x00Silva"}, "candidate_name", "control character", id="nul-in-name"),
    pytest.param({"company": "Acme\x00"}, "company", "control character", id="nul-in-company"),
    pytest.param({"candidate_name": "x" * 201}, "candidate_name", "200", id="name-too-long"),
    pytest.param({"company": "C" * 201}, "company", "200", id="company-too-long"),
    pytest.param({"position": "P" * 201}, "position", "200", id="position-too-long"),
    pytest.param({"application_ref": "R" * 201}, "application_ref", "200", id="ref-too-long"),
]


@pytest.mark.parametrize(("overrides", "column", "fragment"), SINGLE_ROW_ERRORS)
def test_single_bad_row_is_reported_with_its_line(import_csv, overrides, column, fragment):
    rows = [
        outcome_row(candidate_email="first@example.org"),
        outcome_row(**{"candidate_email": "third@example.org", **overrides}),
        outcome_row(candidate_email="fourth@example.org"),
    ]

    result = import_csv(rows)

    assert result.exit_code == 1
    found = problems(result)
    assert [(line, col) for line, col, _message in found] == [(3, column)]
    assert fragment in found[0][2]
    assert_nothing_written()


def test_values_at_the_limits_are_accepted(import_csv):
    result = import_csv([outcome_row(candidate_name="x" * 200, company="C" * 200, position="P" * 200,
                                     application_ref="R" * 200, decided_on=today().isoformat())])

    assert result.exit_code == 0, result.output
    assert "new applications: 1" in stdout_lines(result)


@pytest.mark.parametrize("line_ending", ["\n", "\r\n"], ids=["lf-file", "crlf-file"])
@pytest.mark.parametrize("line_break", ["\n", "\r\n"], ids=["lf-in-field", "crlf-in-field"])
@pytest.mark.parametrize("column", ["candidate_name", "candidate_email", "company_contact_email", "position"])
def test_line_break_inside_a_quoted_field(runner, write_csv, line_ending, line_break, column):
    rows = [
        outcome_row(candidate_email="first@example.org"),
        outcome_row(candidate_email="second@example.org"),
        outcome_row(candidate_email="third@example.org"),
        outcome_row(candidate_email="fourth@example.org", stage="lunch"),
        outcome_row(candidate_email="fifth@example.org"),
    ]
    rows[2][column] = rows[2][column] + line_break + "bcc: victim@example.net"
    path = write_csv(rows, line_ending=line_ending)

    result = import_path(runner, path)

    assert result.exit_code == 1
    # The quoted value spans lines 4 and 5, so the next row starts on line 6.
    assert problem_keys(result) == [(4, column), (6, "stage")]
    assert "line break" in problems(result)[0][2]
    assert_nothing_written()


def test_lone_carriage_return_inside_a_quoted_field(runner, tmp_path):
    header = ",".join(HEADER)
    good = "Ana Silva,ana@example.org,Acme Robotics,hiring@acme.example.com,QA Engineer,interview,rejected,2026-10-02,"
    bad = '"Bo\rChen",bo@example.org,Acme Robotics,hiring@acme.example.com,QA Engineer,interview,rejected,2026-10-02,'
    path = tmp_path / "cr.csv"
    path.write_bytes(f"{header}\n{good}\n{bad}\n".encode())

    result = import_path(runner, path)

    assert result.exit_code == 1
    assert problem_keys(result) == [(3, "candidate_name")]
    assert_nothing_written()


def test_row_repeated_by_application_ref(import_csv):
    result = import_csv([
        outcome_row(candidate_email="first@example.org", application_ref="ATS-1"),
        outcome_row(candidate_email="second@example.org", application_ref="ATS-2"),
        outcome_row(candidate_email="third@example.org", application_ref="ATS-1", stage="final"),
    ])

    assert result.exit_code == 1
    ((line, column, message),) = problems(result)
    assert (line, column) == (4, "application_ref")
    assert "line 2" in message
    assert_nothing_written()


def test_row_repeated_by_natural_key(import_csv):
    result = import_csv([
        outcome_row(candidate_email="first@example.org"),
        outcome_row(candidate_email="second@example.org"),
        outcome_row(candidate_email="FIRST@example.org", stage="final", outcome="withdrew"),
    ])

    assert result.exit_code == 1
    ((line, column, message),) = problems(result)
    assert line == 4
    assert "line 2" in message
    assert_nothing_written()


def test_same_person_same_day_at_two_positions_is_not_a_repeat(import_csv):
    result = import_csv([outcome_row(), outcome_row(position="Backend Engineer")])

    assert result.exit_code == 0, result.output
    assert "new applications: 2" in stdout_lines(result)


@pytest.mark.parametrize(
    "missing", ["candidate_name", "candidate_email", "company", "position", "stage", "outcome", "decided_on"]
)
def test_missing_required_column_is_a_line_1_problem(runner, write_csv, missing):
    header = [column for column in HEADER if column != missing]
    path = write_csv([outcome_row(), outcome_row(candidate_email="bo@example.org", stage="lunch")], header=header)

    result = import_path(runner, path)

    assert result.exit_code == 1
    found = problems(result)
    assert [(line, column) for line, column, _message in found] == [(1, missing)]
    assert "missing" in found[0][2]
    assert "new applications" not in result.stdout
    assert_nothing_written()


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n", b"\r\n\r\n"], ids=["empty", "bom", "lf", "crlf"])
def test_empty_file_is_a_line_1_problem(runner, tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)

    result = import_path(runner, path)

    assert result.exit_code == 1
    found = problems(result)
    assert [line for line, _column, _message in found] == [1]
    assert "empty" in found[0][2]
    assert_nothing_written()


# --- One transaction --------------------------------------------------------------------------

def test_any_invalid_line_writes_nothing_at_all(import_csv):
    rows = [outcome_row(candidate_email=f"person{i}@example.org", company=f"Company {i}") for i in range(5)]
    rows.append(outcome_row(candidate_email="last@example.org", decided_on="2026-10-32"))

    result = import_csv(rows)

    assert result.exit_code == 1
    assert problem_keys(result) == [(7, "decided_on")]
    for model in (Company, Candidate, Application, FeedbackRequest, OutboxMessage):
        assert count(model) == 0, model.__name__
    assert_nothing_written()


def test_a_bad_last_line_after_the_whole_sample_file_writes_nothing(runner, tmp_path):
    text = SAMPLE_CSV.read_text(encoding="utf-8")
    file_lines = len(text.splitlines())
    path = tmp_path / "sample-plus-bad.csv"
    bad = ("Zoe Last,zoe.last@example.org,Acme Robotics,hiring@acme.example.com,QA Engineer,onsite,rejected,"
           "2026-10-02,\n")
    path.write_text(text.rstrip("\n") + "\n" + bad, encoding="utf-8")

    result = import_path(runner, path)

    assert result.exit_code == 1
    assert problem_keys(result) == [(file_lines + 1, "stage")]
    for model in (Company, Candidate, Application, FeedbackRequest, OutboxMessage):
        assert count(model) == 0, model.__name__


def test_rows_already_known_do_not_make_a_bad_file_partly_importable(import_csv):
    assert import_csv([outcome_row(application_ref="ATS-1")]).exit_code == 0
    before = {model.__name__: count(model) for model in WRITTEN}

    result = import_csv([
        outcome_row(application_ref="ATS-1"),
        outcome_row(candidate_email="new@example.org", application_ref="ATS-2"),
        outcome_row(candidate_email="bad@example.org", application_ref="ATS-3", outcome="hired"),
    ])

    assert result.exit_code == 1
    assert problem_keys(result) == [(4, "outcome")]
    assert {model.__name__: count(model) for model in WRITTEN} == before


# --- What each outcome triggers ---------------------------------------------------------------

def test_rejected_queues_a_candidate_and_a_company_request(import_csv):
    result = import_csv([outcome_row(candidate_email="Ana.Silva@Example.org",
                                     company_contact_email="Hiring@Acme-Robotics.example.com")])

    assert result.exit_code == 0, result.output
    assert "requests queued: 2" in stdout_lines(result)
    requests = db.session.execute(sa.select(FeedbackRequest.audience, FeedbackRequest.recipient_email)).all()
    assert sorted(tuple(r) for r in requests) == [
        ("candidate", "ana.silva@example.org"),
        ("company", "hiring@acme-robotics.example.com"),
    ]
    outbox = db.session.execute(sa.select(OutboxMessage.to_address, OutboxMessage.status, OutboxMessage.kind)).all()
    assert sorted(tuple(m) for m in outbox) == [
        ("ana.silva@example.org", "queued", "invitation"),
        ("hiring@acme-robotics.example.com", "queued", "invitation"),
    ]


@pytest.mark.parametrize("outcome", ["withdrew", "offer_declined"])
@pytest.mark.parametrize("contact", ["", "hiring@acme-robotics.example.com"], ids=["no-contact", "with-contact"])
def test_candidate_side_outcomes_queue_only_the_candidate_request(import_csv, outcome, contact):
    result = import_csv([outcome_row(outcome=outcome, stage="offer", company_contact_email=contact)])

    assert result.exit_code == 0, result.output
    assert "requests queued: 1" in stdout_lines(result)
    requests = db.session.execute(sa.select(FeedbackRequest.audience, FeedbackRequest.recipient_email)).all()
    assert [tuple(r) for r in requests] == [("candidate", "ana.silva@example.org")]
    assert db.session.scalars(sa.select(OutboxMessage.to_address)).all() == ["ana.silva@example.org"]


def test_outcome_and_stage_are_case_insensitive(import_csv):
    result = import_csv([outcome_row(outcome="Rejected", stage="INTERVIEW")])

    assert result.exit_code == 0, result.output
    assert db.session.execute(sa.select(Application.stage, Application.outcome)).one() == ("interview", "rejected")
    assert count(OutboxMessage) == 2


# --- The summary ------------------------------------------------------------------------------

def test_summary_lines_count_rows_applications_requests_and_known_rows(import_csv):
    rows = [
        outcome_row(candidate_email="a@example.org", application_ref="R-1"),
        outcome_row(candidate_email="b@example.org"),
        outcome_row(candidate_email="c@example.org", outcome="withdrew", company_contact_email=""),
    ]
    first = import_csv(rows)

    assert first.exit_code == 0, first.output
    assert stdout_lines(first) == [
        "rows read: 3",
        "new applications: 3",
        "requests queued: 5",
        "rows already known: 0",
    ]

    second = import_csv([*rows, outcome_row(candidate_email="d@example.org", outcome="offer_declined")])

    assert second.exit_code == 0, second.output
    assert stdout_lines(second) == [
        "rows read: 4",
        "new applications: 1",
        "requests queued: 1",
        "rows already known: 3",
    ]
    assert count(Application) == 4
    assert count(OutboxMessage) == 6


def test_blank_lines_are_not_rows(runner, write_csv):
    path = write_csv([outcome_row(), {}, outcome_row(candidate_email="bo@example.org", stage="lunch")])

    result = import_path(runner, path)

    # Line 3 is empty (only separators); the bad row is still reported on its own line, 4.
    assert result.exit_code == 1
    assert problem_keys(result) == [(4, "stage")]


# --- Help -------------------------------------------------------------------------------------

def test_help_mentions_the_options(runner):
    result = runner.invoke(args=["feedback", "import", "--help"])

    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "--dry-run" in text
    assert "--skip-invalid" in text
    assert "line N: column: message" in text


def test_spreadsheet_style_headers_and_old_mac_line_endings_are_read(runner, tmp_path):
    """'Candidate Name' reads as candidate_name; a file with CR-only line endings still imports."""
    path = tmp_path / "from-a-spreadsheet.csv"
    path.write_bytes(
        "Candidate Name;Candidate-Email;Company;Company Contact Email;Position;Stage;Outcome;Decided On\r"
        "Zoë Ñúñez;zoe@example.org;Acme Robotics;hiring@acme-robotics.example.com;QA Engineer;Screen;Rejected;2026-10-01\r"
        .encode()
    )
    result = runner.invoke(args=["feedback", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "new applications: 1" in result.output
    assert db.session.scalar(sa.select(Candidate.name)) == "Zoë Ñúñez"


def test_a_file_that_is_not_utf8_says_how_to_save_it(runner, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("candidate_name,candidate_email\nJörg,j@example.org\n".encode("latin-1"))
    result = runner.invoke(args=["feedback", "import", str(path)])
    assert result.exit_code == 1
    assert "not UTF-8" in result.stderr and "CSV UTF-8" in result.stderr


# Addresses at a domain that an earlier row already had checked (the check then skips the domain):
# each still gets email-validator's own verdict and message.
LOOKALIKE_ADDRESSES = [
    ".ana@example.org", "ana.@example.org", "a..na@example.org", "ana silva@example.org", '"ana"@example.org',
    "ana@@example.org", "Ana <ana@example.org>", "ana@example.org>", "x" * 250 + "@example.org",
]


def test_addresses_at_a_domain_seen_before_get_email_validators_verdict(import_csv):
    rows = [outcome_row(candidate_email="first@example.org")]
    rows += [outcome_row(candidate_email=address) for address in LOOKALIKE_ADDRESSES]

    result = import_csv(rows, "--dry-run")

    expected = []
    for line, address in enumerate(LOOKALIKE_ADDRESSES, start=3):
        with pytest.raises(EmailNotValidError) as error:
            validate_email(address, check_deliverability=False)
        expected.append((line, "candidate_email", f"{address!r} is not a valid e-mail address ({error.value})"))
    assert problems(result) == expected


def test_addresses_are_stored_lower_case_whichever_row_checked_the_domain(import_csv):
    rows = [outcome_row(candidate_email="First@Example.ORG"), outcome_row(candidate_email="Second.Person@Example.ORG")]

    result = import_csv(rows)

    assert result.exit_code == 0, result.output
    assert set(db.session.scalars(sa.select(Candidate.email))) == {"first@example.org", "second.person@example.org"}
