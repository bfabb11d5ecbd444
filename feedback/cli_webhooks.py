"""``flask --app wsgi feedback webhooks …``: a company's outgoing webhooks (Standard Webhooks)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from .extensions import db
from .jobs.webhook_delivery import deliver_due
from .queries.companies import company_by_name
from .services.audit import record
from .services.outgoing_webhooks import (
    EVENT_TYPES,
    EndpointError,
    all_endpoints,
    create_endpoint,
    queue_test,
    revoke_endpoint,
)
from .timeutil import utcnow

webhooks_cli = AppGroup("webhooks", help="Manage the outgoing webhooks: a company's endpoints, signed as Standard Webhooks.")


@webhooks_cli.command("create")
@click.option("--company", "company_name", required=True, metavar="NAME", help="The company whose events it receives.")
@click.option("--url", required=True, metavar="URL", help="Where the events are POSTed (https://).")
@click.option("--events", default=",".join(EVENT_TYPES), show_default=True, metavar="TYPES",
              help=f"Comma-separated event types, of: {', '.join(EVENT_TYPES)}.")
def webhooks_create_command(company_name: str, url: str, events: str) -> None:
    """Create an endpoint for one company; print its id, URL and secret, one per line.

    The secret (whsec_…) is shown here once and stored encrypted: give it to the receiver, which
    verifies each webhook with it (docs/connectors/outgoing-webhooks.md). A company has at most 10
    live endpoints. The workspace's Webhooks page does the same for https:// addresses of public hosts.
    """
    company = company_by_name(company_name)
    if company is None:
        raise click.ClickException(f"no company named {company_name!r}; import its outcomes first")
    try:
        endpoint, secret = create_endpoint(company, url, events)
    except EndpointError as exc:
        raise click.ClickException(str(exc)) from None
    record("webhook endpoint created", target=f"webhook endpoint {endpoint.id}", company=company.name,
           url=endpoint.url, events=endpoint.events)
    db.session.commit()
    click.echo(f"id: {endpoint.id}")
    click.echo(f"url: {endpoint.url}")
    click.echo(f"secret: {secret}")


@webhooks_cli.command("list")
def webhooks_list_command() -> None:
    """List the endpoints: id, company, URL, event types, and whether it is revoked."""
    endpoints = all_endpoints()
    if not endpoints:
        click.echo("no webhook endpoints; create one with `feedback webhooks create --company NAME --url URL`")
    for endpoint in endpoints:
        state = f"revoked {endpoint.revoked_at.date().isoformat()}" if endpoint.revoked_at else "live"
        click.echo(f"{endpoint.id}\t{endpoint.company.name}\t{endpoint.url}\t{endpoint.events}\t{state}")


@webhooks_cli.command("revoke")
@click.argument("endpoint_id", type=click.IntRange(min=1), metavar="ID")
def webhooks_revoke_command(endpoint_id: int) -> None:
    """Revoke the endpoint ID: nothing more is sent to it, and what waits for it fails unsent."""
    if not revoke_endpoint(endpoint_id):
        raise click.ClickException(f"no live webhook endpoint {endpoint_id}")
    record("webhook endpoint revoked", target=f"webhook endpoint {endpoint_id}")
    db.session.commit()
    click.echo(f"revoked webhook endpoint {endpoint_id}")


@webhooks_cli.command("test")
@click.argument("endpoint_id", type=click.IntRange(min=1), metavar="ID")
def webhooks_test_command(endpoint_id: int) -> None:
    """Queue a webhook.test for the live endpoint ID, whatever types it takes; `webhooks send` (or the
    worker) delivers it, and `webhooks list` then shows whether the receiver took it."""
    if not queue_test(endpoint_id, utcnow()):
        raise click.ClickException(f"no live webhook endpoint {endpoint_id}")
    db.session.commit()
    click.echo(f"queued a webhook.test for endpoint {endpoint_id}; `feedback webhooks send` sends it now")


@webhooks_cli.command("send")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1), help="Send at most N webhooks.")
def webhooks_send_command(limit: int) -> None:
    """Send the due webhooks now (the worker does it every 30 seconds); prints what became of them.

    A failed attempt is retried after 30 seconds, 5 minutes, 30 minutes, 2 hours and 8 hours (later
    when the receiver's Retry-After asks, up to a day), then the webhook is marked failed.
    """
    result = deliver_due(utcnow(), limit=limit)  # commits webhook by webhook; routine, like `send`: not audited
    click.echo(result.line())
