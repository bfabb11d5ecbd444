"""app_keys: the service's own address key, so an unsubscribe outlives every SECRET_KEY

Suppressions were keyed hashes under SECRET_KEY: once a key left SECRET_KEY_FALLBACKS, the
addresses it had hashed were mailed again and the unsubscribe links it had signed answered 404.
This revision makes one random address key that no rotation touches and, with the keys of the app
it runs in (SECRET_KEY and SECRET_KEY_FALLBACKS, when `flask db upgrade` runs with them):

- re-hashes under the address key every suppression whose address the database still holds
  (candidates, logins, company contacts, request recipients, the outbox); a suppression of an
  address no longer held stays found under the old keys while they are configured;
- keeps, for each of those keys, itsdangerous's derived key of the unsubscribe salt, which verifies
  the unsubscribe links that key signed (it can sign no session and no feedback link).

The downgrade drops the table; suppressions added under the address key are then no longer found
(put the old release's hashes back by unsubscribing again).

Revision ID: c8e2f4a6b913
Revises: b7d4e9f2c613
Create Date: 2026-12-03 17:45:00.000000

"""
import hashlib
import hmac
import secrets
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c8e2f4a6b913'
down_revision = 'b7d4e9f2c613'
branch_labels = None
depends_on = None

UNSUBSCRIBE_SALT = "feedback.unsubscribe.v1"
ADDRESS_SOURCES = [("candidates", "email"), ("users", "email"), ("applications", "contact_email"),
                   ("feedback_requests", "recipient_email"), ("outbox_messages", "to_address")]


def _configured_keys() -> list[str]:
    try:
        from flask import current_app
        config = current_app.config
    except RuntimeError:  # alembic run outside the app: nothing to carry over
        return []
    return [key for key in [config.get("SECRET_KEY"), *config.get("SECRET_KEY_FALLBACKS", [])] if key]


def _digest(key: bytes, address: str) -> str:
    return hmac.new(key, b"suppression:" + address.strip().lower().encode(), hashlib.sha256).hexdigest()


def upgrade():
    app_keys = op.create_table(
        'app_keys',
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('value', sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_app_keys')),
    )
    address_key = secrets.token_hex(32)
    rows = [{"name": "address", "value": address_key}]
    keys = _configured_keys()
    if keys:
        from itsdangerous import URLSafeTimedSerializer
        for number, key in enumerate(keys, start=1):
            signer = URLSafeTimedSerializer(key, salt=UNSUBSCRIBE_SALT).make_signer(UNSUBSCRIBE_SALT)
            rows.append({"name": f"unsubscribe-verifier:{number}", "value": signer.derive_key().hex()})
    op.bulk_insert(app_keys, rows)

    connection = op.get_bind()
    suppressions = sa.table("suppressions", sa.column("address_hash", sa.String), sa.column("reason", sa.String),
                            sa.column("created_at", sa.DateTime(timezone=True)))
    stored = dict(connection.execute(sa.select(suppressions.c.address_hash, suppressions.c.reason)).all())
    if not stored or not keys:
        return
    moved = {}
    for table, column in ADDRESS_SOURCES:
        for (address,) in connection.execute(sa.text(f"SELECT DISTINCT {column} FROM {table} "
                                                     f"WHERE {column} IS NOT NULL")):
            for key in keys:
                reason = stored.get(_digest(key.encode(), address))
                if reason is not None:
                    moved[_digest(address_key.encode(), address)] = reason
    now = datetime.now(timezone.utc)
    new = [{"address_hash": digest, "reason": reason, "created_at": now}
           for digest, reason in moved.items() if digest not in stored]
    if new:
        op.bulk_insert(suppressions, new)


def downgrade():
    op.drop_table('app_keys')
