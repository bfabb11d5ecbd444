"""ATS connectors of every kind, and outgoing webhooks

Issue 20 (CONTRACT §8): a connector's secret is stored encrypted (feedback/secrets_box.py; the
secrets stored before are encrypted here with the app's SECRET_KEY), Lever's API key and base URL,
a count of events; connector_events keeps each event taken (its retries create nothing twice) and
holds Lever's events until the worker has read the rest from Lever's API; webhook_endpoints and
webhook_messages are the outgoing Standard Webhooks and their outbox.

Revision ID: c5e7a9b1d3f6
Revises: b4d6f8a0c2e7
Create Date: 2026-12-04 18:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c5e7a9b1d3f6'
down_revision = 'b4d6f8a0c2e7'
branch_labels = None
depends_on = None


def _secrets(transform) -> None:
    """Apply ``transform`` to every stored connector secret (needs the app: its SECRET_KEY)."""
    connection = op.get_bind()
    connectors = sa.table('connectors', sa.column('id', sa.Integer), sa.column('secret', sa.Text))
    for connector_id, secret in connection.execute(sa.select(connectors.c.id, connectors.c.secret)).all():
        connection.execute(connectors.update().where(connectors.c.id == connector_id)
                           .values(secret=transform(secret)))


def upgrade():
    with op.batch_alter_table('connectors') as batch_op:
        batch_op.alter_column('secret', type_=sa.Text(), existing_type=sa.String(200), existing_nullable=False)
        batch_op.add_column(sa.Column('api_key', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('api_base_url', sa.String(300), nullable=True))
        batch_op.add_column(sa.Column('event_count', sa.Integer(), nullable=False, server_default='0'))
    from feedback.secrets_box import PREFIX, seal
    _secrets(lambda secret: secret if secret.startswith(PREFIX) else seal(secret))

    op.create_table(
        'connector_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('connector_id', sa.Integer(), nullable=False),
        sa.Column('event_key', sa.String(length=128), nullable=False),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('application_ref', sa.String(length=100), nullable=True),
        sa.Column('candidate_ref', sa.String(length=100), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['connector_id'], ['connectors.id'],
                                name=op.f('fk_connector_events_connector_id_connectors'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_connector_events')),
        sa.UniqueConstraint('connector_id', 'event_key', name=op.f('uq_connector_events_connector_id_event_key')),
    )
    op.create_index('ix_connector_events_due', 'connector_events', ['status', 'next_attempt_at'])
    op.create_table(
        'webhook_endpoints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('secret', sa.Text(), nullable=False),
        sa.Column('events', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                                name=op.f('fk_webhook_endpoints_company_id_companies'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints')),
    )
    op.create_index(op.f('ix_webhook_endpoints_company_id'), 'webhook_endpoints', ['company_id'])
    op.create_table(
        'webhook_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('endpoint_id', sa.Integer(), nullable=False),
        sa.Column('event_type', sa.String(length=40), nullable=False),
        sa.Column('msg_id', sa.String(length=40), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'],
                                name=op.f('fk_webhook_messages_endpoint_id_webhook_endpoints'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_messages')),
        sa.UniqueConstraint('msg_id', name=op.f('uq_webhook_messages_msg_id')),
    )
    op.create_index(op.f('ix_webhook_messages_endpoint_id'), 'webhook_messages', ['endpoint_id'])
    op.create_index('ix_webhook_messages_due', 'webhook_messages', ['status', 'next_attempt_at'])


def downgrade():
    op.drop_table('webhook_messages')
    op.drop_table('webhook_endpoints')
    op.drop_table('connector_events')
    from feedback.secrets_box import open_sealed
    _secrets(open_sealed)
    with op.batch_alter_table('connectors') as batch_op:
        batch_op.drop_column('event_count')
        batch_op.drop_column('api_base_url')
        batch_op.drop_column('api_key')
        batch_op.alter_column('secret', type_=sa.String(200), existing_type=sa.Text(), existing_nullable=False)
