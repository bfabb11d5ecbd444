"""feedback_ready notices, and unsubscribes that stop requests only or everything

CONTRACT §5: requests (surveys, reminders) and notices (feedback ready) are two kinds of mail. The
outbox takes the kind `feedback_ready`; a suppression has a scope: `all` (what every suppression
meant so far, and what the one-click POST does) or `requests` (surveys only).

Revision ID: f1a2b3c4d5e6
Revises: e9c3d5f7a204
Create Date: 2026-12-03 18:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f1a2b3c4d5e6'
down_revision = 'e9c3d5f7a204'
branch_labels = None
depends_on = None

KINDS = "'invitation', 'reminder', 'fresh_link', 'candidate_view'"


def upgrade():
    with op.batch_alter_table('outbox_messages') as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_messages_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_outbox_messages_kind'), f"kind IN ({KINDS}, 'feedback_ready')")
    with op.batch_alter_table('suppressions') as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=10), server_default='all', nullable=False))
        batch_op.create_check_constraint(batch_op.f('ck_suppressions_scope'), "scope IN ('all', 'requests')")


def downgrade():
    op.execute("DELETE FROM outbox_messages WHERE kind = 'feedback_ready'")
    with op.batch_alter_table('outbox_messages') as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_messages_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_outbox_messages_kind'), f"kind IN ({KINDS})")
    with op.batch_alter_table('suppressions') as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_suppressions_scope'), type_='check')
        batch_op.drop_column('scope')
