"""ATS connectors (CONTRACT §8): created for one company, listed, revoked."""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from ..extensions import db
from ..models import CONNECTOR_KINDS, Company, Connector
from ..secrets_box import open_sealed, seal
from ..timeutil import utcnow

log = logging.getLogger(__name__)
MIN_SECRET_LENGTH = 16


class ConnectorError(ValueError):
    """A connector cannot be made as asked."""


@dataclass
class NewConnector:
    connector: Connector
    secret: str  # shown once: only its encrypted form is stored


def create_connector(kind: str, company: Company, secret: str | None = None, *, api_key: str | None = None,
                     api_base_url: str | None = None) -> NewConnector:
    """A connector of ``kind`` for ``company`` with the given secret, or a new random one, stored
    encrypted (secrets_box). Lever's takes the company's API key and, optionally, the API's base
    URL (default LEVER_API_URL). Flushes."""
    if kind not in CONNECTOR_KINDS:
        raise ConnectorError(f"unknown kind {kind!r}; use one of {', '.join(CONNECTOR_KINDS)}")
    if secret is not None and (len(secret) < MIN_SECRET_LENGTH or len(secret) > 200 or not secret.isprintable()):
        raise ConnectorError(f"the secret must be {MIN_SECRET_LENGTH} to 200 printable characters")
    if api_key is not None and (not api_key or len(api_key) > 200 or not api_key.isprintable()):
        raise ConnectorError("the API key must be 1 to 200 printable characters")
    if api_base_url is not None and not api_base_url.startswith(("https://", "http://")):
        raise ConnectorError("the API base URL must start with https:// (or http:// for a local stand-in)")
    secret = secret or secrets.token_urlsafe(32)
    connector = Connector(kind=kind, company_id=company.id, secret=seal(secret),
                          api_key=seal(api_key) if api_key else None, api_base_url=api_base_url)
    db.session.add(connector)
    db.session.flush()
    log.info("connector %s (%s) created for company %s", connector.id, kind, company.id)
    return NewConnector(connector, secret)


def connector_secret(connector: Connector) -> str:
    """The HMAC key the connector's ATS signs with (decrypted; SecretUnreadable when no key opens it)."""
    return open_sealed(connector.secret)


def connector_api_key(connector: Connector) -> str | None:
    return open_sealed(connector.api_key) if connector.api_key else None


def live_connector(kind: str, connector_id: int) -> Connector | None:
    """The connector at /hooks/<kind>/<id>, unless it is unknown, of another kind, or revoked."""
    connector = db.session.get(Connector, connector_id)
    if connector is None or connector.kind != kind or connector.revoked_at is not None:
        return None
    return connector


def all_connectors() -> list[Connector]:
    return list(db.session.scalars(sa.select(Connector).order_by(Connector.id)))


def revoke_connector(connector_id: int) -> bool:
    """Revoke a live connector; False when there is none with that id. Flushes."""
    connector = db.session.get(Connector, connector_id)
    if connector is None or connector.revoked_at is not None:
        return False
    connector.revoked_at = utcnow()
    db.session.flush()
    return True
