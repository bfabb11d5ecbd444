"""``flask --app wsgi feedback connectors …``: native ATS connectors (CONTRACT §3 and §8)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from .extensions import db
from .jobs.connector_sync import sync_pending
from .models import CONNECTOR_KINDS
from .queries.companies import company_by_name
from .services.audit import record
from .services.connectors import ConnectorError, all_connectors, create_connector, revoke_connector
from .timeutil import utcnow
from .tokens import public_url

connectors_cli = AppGroup("connectors", help="Manage the ATS connectors: one webhook address and secret per company.")


def hook_url(kind: str, connector_id: int) -> str:
    return public_url(f"/hooks/{kind}/{connector_id}")


@connectors_cli.command("create")
@click.option("--kind", required=True, type=click.Choice(CONNECTOR_KINDS),
              help="The ATS whose webhook this takes (generic: the outcome events of the README).")
@click.option("--company", "company_name", required=True, metavar="NAME", help="The one company it imports for.")
@click.option("--secret", default=None, help="The signing secret the ATS uses (default: a new random one).")
@click.option("--api-key", default=None, help="lever only: the company's Lever API key, to read what its events leave out.")
@click.option("--api-url", default=None, metavar="URL",
              help="lever only: Lever's API base URL (default: LEVER_API_URL, https://api.lever.co/v1).")
def connectors_create_command(kind: str, company_name: str, secret: str | None, api_key: str | None,
                              api_url: str | None) -> None:
    """Create a connector for one company; print its URL and secret, one per line.

    Give the URL and the secret to the ATS's webhook settings (README, "ATS connectors": a page per
    vendor). The secret is shown here once and stored encrypted. Events for any other company are
    refused (422).
    """
    if kind != "lever" and (api_key or api_url):
        raise click.UsageError("--api-key and --api-url are for --kind lever only")
    if kind == "lever" and not api_key:
        raise click.UsageError("a lever connector needs --api-key: Lever's events carry ids only")
    company = company_by_name(company_name)
    if company is None:
        raise click.ClickException(f"no company named {company_name!r}; import its outcomes first")
    try:
        created = create_connector(kind, company, secret, api_key=api_key, api_base_url=api_url)
    except ConnectorError as exc:
        raise click.ClickException(str(exc)) from None
    connector = created.connector
    record("connector created", target=f"connector {connector.id}", kind=kind, company=company.name)
    db.session.commit()
    click.echo(f"url: {hook_url(kind, connector.id)}")
    click.echo(f"secret: {created.secret}")


@connectors_cli.command("list")
def connectors_list_command() -> None:
    """List the connectors: id, kind, company, URL, last event, and whether it is revoked."""
    connectors = all_connectors()
    if not connectors:
        click.echo("no connectors; create one with `feedback connectors create --kind generic --company NAME`")
    for connector in connectors:
        last = connector.last_event_at.isoformat(timespec="seconds") if connector.last_event_at else "no event yet"
        state = f"revoked {connector.revoked_at.date().isoformat()}" if connector.revoked_at else "live"
        click.echo(f"{connector.id}\t{connector.kind}\t{connector.company.name}\t"
                   f"{hook_url(connector.kind, connector.id)}\tlast event: {last}\tevents: {connector.event_count}\t{state}")


@connectors_cli.command("revoke")
@click.argument("connector_id", type=click.IntRange(min=1), metavar="ID")
def connectors_revoke_command(connector_id: int) -> None:
    """Revoke the connector ID: its URL answers 404 from now on."""
    if not revoke_connector(connector_id):
        raise click.ClickException(f"no live connector {connector_id}")
    record("connector revoked", target=f"connector {connector_id}")
    db.session.commit()
    click.echo(f"revoked connector {connector_id}")


@connectors_cli.command("sync")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), metavar="N",
              help="At most N events in this run.")
def connectors_sync_command(limit: int) -> None:
    """Complete the queued Lever events from Lever's API and import them, once; print the counts.

    taken: events imported (or known, or no outcome: a hire, no longer archived); failed: events whose
    attempt failed (tried again later with backoff, or for good after a 4xx or an invalid row; see
    `connectors list`); left: due events beyond --limit. The worker (Celery beat) runs this every minute.
    """
    result = sync_pending(utcnow(), limit=limit)
    click.echo(f"taken: {result.taken}, failed: {result.failed}, left: {result.left}")
