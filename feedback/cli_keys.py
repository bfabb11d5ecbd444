"""``flask --app wsgi feedback keys …``: API keys (CONTRACT §3)."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from .extensions import db
from .mail.wording import plural
from .models import User
from .services.api_keys import create_api_key, revoke_api_key
from .services.audit import record

keys_cli = AppGroup("keys", help="Manage API keys.")


@keys_cli.command("create")
@click.argument("email")
def keys_create_command(email: str) -> None:
    """Create an API key that acts with the rights of the login EMAIL, and print it once.

    Only a hash is stored: copy the key now. Send it as "Authorization: Bearer <key>".
    """
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no login for {email}; create it first with `feedback users create`")
    key, record_ = create_api_key(user)
    record("api key created", target=user.email, prefix=record_.prefix)
    db.session.commit()
    click.echo(key)
    click.echo(f"key {record_.prefix}… acts as {user.email} ({user.role}); it is shown only this once", err=True)


@keys_cli.command("revoke")
@click.argument("prefix")
def keys_revoke_command(prefix: str) -> None:
    """Revoke an API key by the first 12 characters it was shown with (e.g. fbk_AbCdEfGh)."""
    count = revoke_api_key(prefix)
    if not count:
        raise click.ClickException(f"no live key starts with {prefix!r}")
    record("api key revoked", target=prefix)
    db.session.commit()
    click.echo(f"revoked {plural(count, 'key')}")
