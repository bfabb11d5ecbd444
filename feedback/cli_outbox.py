"""``flask --app wsgi feedback outbox …``: the operator's hands on the outbox (CONTRACT §3)."""
from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from .extensions import db
from .jobs.retry import retry_outbox
from .services.audit import record
from .timeutil import utcnow

outbox_cli = AppGroup("outbox", help="After an SMTP outage or a misconfiguration: put the outbox's e-mails back on their way.")


@outbox_cli.command("retry")
@click.option("--failed", is_flag=True, help="Also put the failed e-mails back in the queue.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, metavar="DATE",
              help="With --failed: only those that failed on or after DATE (YYYY-MM-DD, UTC).")
def retry_command(failed: bool, since: datetime | None) -> None:
    """Make every queued e-mail that waits for a later attempt due now; prints how many.

    With --failed, the failed ones (since DATE) go back in the queue with their attempts renewed,
    except those to an address that unsubscribed or that the server refused on its own (a bounce),
    and those whose request was answered or cancelled meanwhile. Then run `feedback send` (or let
    the worker): they go out on its next run.
    """
    if since is not None and not failed:
        raise click.UsageError("--since chooses among the failed e-mails: use it with --failed")
    result = retry_outbox(utcnow(), failed=failed, since=since.replace(tzinfo=UTC) if since else None)
    record("outbox retry", made_due=result.made_due, requeued=result.requeued, kept_failed=result.kept_failed,
           bounces_lifted=result.bounces_lifted, since=since.date().isoformat() if since else None)
    db.session.commit()
    for line in result.lines():
        click.echo(line)
