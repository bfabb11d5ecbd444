"""connectors: an ATS webhook per company, with its own secret

The outcome webhook had one global WEBHOOK_SECRET: whoever held it could import into every tenant
and create companies. A connector belongs to one company and verifies its events with its own
secret (CONTRACT §8, `feedback connectors create`).

Revision ID: e9c3d5f7a204
Revises: d4b7a9c1e582
Create Date: 2026-12-03 18:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e9c3d5f7a204'
down_revision = 'd4b7a9c1e582'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'connectors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('secret', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_event_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_connectors_company_id_companies'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_connectors')),
    )
    with op.batch_alter_table('connectors') as batch_op:
        batch_op.create_index(batch_op.f('ix_connectors_company_id'), ['company_id'], unique=False)


def downgrade():
    op.drop_table('connectors')
