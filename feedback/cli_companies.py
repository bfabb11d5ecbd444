"""``flask --app wsgi feedback companies …``: a company's settings (its language)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from .extensions import db
from .i18n import SHIPPED, UnknownLocale, shipped_tag
from .queries.companies import company_by_name
from .services.audit import record

companies_cli = AppGroup("companies", help="A company's settings: the language of its contacts and candidates.")


@companies_cli.command("locale")
@click.argument("name")
@click.argument("tag", required=False)
def companies_locale_command(name: str, tag: str | None) -> None:
    """Show the language of company NAME, or set it to TAG (one of en, de, fr, es, pt-BR, ar; "none"
    clears it).

    Its contacts' e-mails and pages use it, and so do its candidates whose row, API item or ATS event
    named no language of their own. Without one: FEEDBACK_DEFAULT_LOCALE.
    """
    company = company_by_name(name)
    if company is None:
        raise click.ClickException(f"no company named {name!r}")
    if tag is None:
        click.echo(f"{company.name}: {company.locale or 'none (FEEDBACK_DEFAULT_LOCALE)'}")
        return
    try:
        locale = None if tag.strip().lower() == "none" else shipped_tag(tag)
    except UnknownLocale:
        raise click.BadParameter(f"{tag!r} is not a shipped language: use one of {', '.join(SHIPPED)} or none",
                                 param_hint="TAG") from None
    company.locale = locale
    record("company language set", target=company.name, locale=locale or "none")
    db.session.commit()
    click.echo(f"{company.name}: {locale or 'none (FEEDBACK_DEFAULT_LOCALE)'}")
