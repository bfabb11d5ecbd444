"""``flask --app wsgi feedback …``: thin commands; the work lives in services, queries and jobs."""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager, nullcontext
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from .cli_companies import companies_cli
from .cli_connectors import connectors_cli
from .cli_keys import keys_cli
from .cli_outbox import outbox_cli
from .cli_webhooks import webhooks_cli
from .extensions import db
from .jobs.delivery import MailServerUnavailable, deliver_queued, queued_count
from .mail.wording import plural
from .queries.companies import company_by_name, company_names
from .queries.reports import company_report
from .reports_text import report_text
from .services.audit import record
from .services.escalations import queue_due_escalations
from .services.imports import import_outcomes
from .services.outcomes_csv import check_outcomes
from .services.reminders import queue_due_reminders
from .services.validation import count_lines_after, summarise
from .timeutil import today, utcnow

feedback_cli = AppGroup("feedback", help="Import outcomes, send the follow-up e-mails, read reports.")


def fail(message: str, code: int = 1) -> None:
    """Print an error to stderr and exit non-zero."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@contextmanager
def open_outcomes(path: Path):
    """An outcomes CSV as text: UTF-8 with or without a BOM, any line ending."""
    with path.open("r", encoding="utf-8-sig", newline="") as stream:
        yield stream


def progress_bar(length: int, label: str):
    """A progress bar on a terminal; nothing when the output goes to a file or a pipe."""
    if length and sys.stderr.isatty():
        return click.progressbar(length=length, label=label, file=sys.stderr)
    return nullcontext(None)


@feedback_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only validate the file; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows and list the invalid ones.")
def import_command(path: Path, dry_run: bool, skip_invalid: bool) -> None:
    """Import an outcomes CSV: applications, feedback requests and their queued e-mails.

    The whole file is validated first. Any invalid line is printed as
    "line N: column: message" and nothing is written (exit 1), unless --skip-invalid.
    Rows already imported are recognised and create nothing.
    """
    with open_outcomes(path) as stream:
        # Only --skip-invalid needs the whole file read; otherwise the pass stops at MAX_PROBLEMS.
        report = summarise(check_outcomes(stream, today(), current_app.config["MAIL_SMTPUTF8"]),
                           stop=not skip_invalid)
    if report.stopped_at is not None:
        report.lines_not_checked = count_lines_after(path, report.stopped_at)
    for problem in report.problems:
        click.echo(str(problem), err=True)
    for line in report.lines():
        click.echo(f"error: {line}", err=True)
    invalid_rows = report.rows_read - report.valid_rows
    header_broken = report.header_broken
    if dry_run:
        # A dry run summarises the file whether or not it is valid.
        click.echo(f"rows read: {report.rows_read}")
        click.echo(f"valid rows: {report.valid_rows}")
        click.echo(f"invalid rows: {invalid_rows}")
        click.echo("dry run: nothing was written")
    if report.problems and (not skip_invalid or header_broken):
        counted = f"at least {report.problem_count}" if report.stopped_at is not None else str(report.problem_count)
        fail(f"{counted} problem{'' if counted == '1' else 's'} in {path.name}; nothing was imported")
    if dry_run:
        return

    with open_outcomes(path) as stream, progress_bar(report.valid_rows, "Importing") as bar:
        rows = (row for row, _problems in check_outcomes(stream, today(), current_app.config["MAIL_SMTPUTF8"]) if row is not None)
        summary = import_outcomes(rows, source=path.name, on_progress=bar.update if bar else None,
                                  rows_in_file=report.rows_read)
        record("import", target=f"batch {summary.batch_id}", source=path.name,
               applications=summary.applications_created, requests=summary.requests_queued)
        db.session.commit()
    for line in summary.lines():
        click.echo(line)
    if invalid_rows:
        click.echo(f"invalid rows skipped: {invalid_rows}")


@feedback_cli.command("send")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Send at most N messages.")
def send_command(limit: int | None) -> None:
    """Deliver queued e-mails through SMTP over one connection.

    A message the server refuses stays queued for a retry. Prints sent / failed / left.
    """
    due = queued_count()
    with progress_bar(min(due, limit or due), "Sending") as bar:
        try:
            result = deliver_queued(limit=limit, on_progress=bar.update if bar else None)
        except MailServerUnavailable as exc:
            db.session.rollback()
            exc.result.left = queued_count()
            click.echo(exc.result.line())
            fail(str(exc))
    click.echo(result.line())
    if result.failed:
        sys.exit(1)


@feedback_cli.command("remind")
def remind_command() -> None:
    """Queue the reminders and escalations that are due (safe to run hourly from cron).

    An unanswered, unexpired request whose address is not unsubscribed is reminded once at each
    FEEDBACK_REMINDER_DAYS mark after its first e-mail. A company contact's feedback still missing
    FEEDBACK_ESCALATE_DAYS working days after the decision is escalated once to the company's
    recruiters (its admins when it has none), in one digest a day each. Run `send` afterwards (or
    let the worker).
    """
    now = utcnow()
    result = queue_due_reminders(now)
    escalated = queue_due_escalations(now)
    db.session.commit()
    click.echo(f"reminders queued: {result.queued}")
    if result.suppressed:
        click.echo(f"not queued (address unsubscribed): {result.suppressed}")
    click.echo(f"escalated: {escalated.requests} overdue requests, to {escalated.recipients} recipients")


@feedback_cli.command("worker")
@click.option("--send-every", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds between send runs.")
@click.option("--remind-every", type=click.FloatRange(min=1), default=3600.0, show_default=True,
              help="Seconds between reminder runs.")
def worker_command(send_every: float, remind_every: float) -> None:
    """Send queued mail and queue due reminders in a loop; stops cleanly on SIGTERM or Ctrl-C."""
    from .jobs.worker import run_worker

    run_worker(send_every, remind_every, echo=lambda line: click.echo(line, err=line.startswith("error")))


@feedback_cli.command("report")
@click.option("--company", "company_name", required=True, help="The company's name (case does not matter).")
@click.option("--format", "output_format", type=click.Choice(["json", "text"]), default="text", show_default=True,
              help="json for programs (figures not rounded), text for people.")
def report_command(company_name: str, output_format: str) -> None:
    """Print a company's aggregate: response rates, NPS, question means, by stage."""
    company = company_by_name(company_name)
    if company is None:
        known = ", ".join(company_names()) or "none yet"
        fail(f"no company named {company_name!r}; known companies: {known}")
    report = company_report(company, current_app.config["FEEDBACK_MIN_RESPONSES"])
    if output_format == "json":
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        click.echo(report_text(report))


@feedback_cli.command("demo")
@click.option("--answer-share", type=click.FloatRange(0, 1), default=0.6, show_default=True,
              help="Share of the demo requests answered with made-up answers.")
def demo_command(answer_share: float) -> None:
    """Load demo data into an empty database (make run does this) and print the demo logins.

    An existing database is left alone; the logins are printed all the same.
    """
    from .demo import load_demo

    if not current_app.config.get("DEV_MAILBOX"):
        fail("demo data is for dev mode only (FLASK_DEBUG=1): its e-mails go to the dev mailbox")
    for line in load_demo(answer_share):  # the demo logins every time, also on a database already seeded
        click.echo(line)


users_cli = AppGroup("users", help="Manage logins.")
feedback_cli.add_command(users_cli)


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "recruiter", "company"]), required=True,
              help="admin: everything; recruiter: the companies given; company: that company's dashboard.")
@click.option("--company", "company_names_", multiple=True, metavar="NAME",
              help="The company (repeat for a recruiter with several). Must exist (import its outcomes first).")
def users_create_command(email: str, role: str, company_names_: tuple[str, ...]) -> None:
    """Create a login for EMAIL with a role.

    The password is read from a prompt (typed twice) on a terminal, or from the first line of
    stdin when piped: echo "$PASSWORD" | flask --app wsgi feedback users create ...
    """
    from .services.accounts import AccountError, create_user

    companies = []
    for name in company_names_:
        company = company_by_name(name)
        if company is None:
            known = ", ".join(company_names()) or "none yet"
            fail(f"no company named {name!r}; known companies: {known}")
        companies.append(company)
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = create_user(email, password, role, companies)
    except AccountError as exc:
        fail(str(exc))
    record("user created", target=user.email, role=user.role)
    db.session.commit()
    scope = f" for {', '.join(c.name for c in companies)}" if companies else ""
    click.echo(f"created {user.role} login {user.email}{scope}")


@feedback_cli.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_command(email: str, yes: bool) -> None:
    """Remove a person's personal data (GDPR erasure); anonymous aggregates stay correct.

    Names, addresses, free text written by or about the person, rendered e-mails, uploaded files
    that hold the address, and the link between the person and their answers go; the audit log
    names them "erased person"; their links stop working; numbers and choices stay, unlinked.
    An unsubscribe stays in force.
    """
    from .services.privacy import erase_person

    if not yes and sys.stdin.isatty():
        click.confirm(f"Erase every personal detail held for {email}?", abort=True, err=True)
    result = erase_person(email)
    record("erase", details={"candidates": result.candidates, "contacts": result.contact_addresses_removed})
    db.session.commit()
    if not (result.candidates or result.contact_addresses_removed or result.logins_removed
            or result.audit_entries_anonymised or result.uploads_removed):
        click.echo(f"nothing held for {email}")
        return
    click.echo(f"erased: {plural(result.candidates, 'candidate record')}, "
               f"{plural(result.applications, 'application')} unlinked, "
               f"{plural(result.responses_unlinked, 'response')} unlinked, "
               f"{plural(result.free_texts_removed, 'free text')} removed, "
               f"{plural(result.contact_addresses_removed, 'contact address', 'contact addresses')}, "
               f"{plural(result.messages_removed, 'e-mail')}, {plural(result.logins_removed, 'login')}, "
               f"{plural(result.audit_entries_anonymised, 'audit entry', 'audit entries')} anonymised, "
               f"{plural(result.uploads_removed, 'uploaded file')}")


@feedback_cli.command("purge")
@click.option("--older-than", "days", type=click.IntRange(min=1), required=True, metavar="DAYS",
              help="Erase the people whose every application was decided more than DAYS days ago.")
def purge_command(days: int) -> None:
    """Enforce a retention period: erase personal data of applications decided more than DAYS ago."""
    from datetime import timedelta

    from .services.privacy import purge_older_than

    cutoff = today() - timedelta(days=days)
    result = purge_older_than(cutoff)
    record("purge", details={"before": cutoff.isoformat(), "candidates": result.candidates})
    db.session.commit()
    click.echo(f"purged data decided before {cutoff.isoformat()}: {plural(result.candidates, 'candidate')}, "
               f"{plural(result.contact_addresses_removed, 'contact address', 'contact addresses')}, "
               f"{plural(result.free_texts_removed, 'free text')}")


feedback_cli.add_command(keys_cli)
feedback_cli.add_command(connectors_cli)
feedback_cli.add_command(companies_cli)
feedback_cli.add_command(outbox_cli)
feedback_cli.add_command(webhooks_cli)
