"""ATS connectors (CONTRACT §8): created for one company, listed, revoked."""
from __future__ import annotations

import logging
import secrets

import sqlalchemy as sa

from ..extensions import db
from ..models import CONNECTOR_KINDS, Company, Connector
from ..timeutil import utcnow

log = logging.getLogger(__name__)
MIN_SECRET_LENGTH = 16


class ConnectorError(ValueError):
    """A connector cannot be made as asked."""


def create_connector(kind: str, company: Company, secret: str | None = None) -> Connector:
    """A connector of ``kind`` for ``company`` with the given secret, or a new random one. Flushes."""
    if kind not in CONNECTOR_KINDS:
        raise ConnectorError(f"unknown kind {kind!r}; use one of {', '.join(CONNECTOR_KINDS)}")
    if secret is not None and (len(secret) < MIN_SECRET_LENGTH or len(secret) > 200 or not secret.isprintable()):
        raise ConnectorError(f"the secret must be {MIN_SECRET_LENGTH} to 200 printable characters")
    connector = Connector(kind=kind, company_id=company.id, secret=secret or secrets.token_urlsafe(32))
    db.session.add(connector)
    db.session.flush()
    log.info("connector %s (%s) created for company %s", connector.id, kind, company.id)
    return connector


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
