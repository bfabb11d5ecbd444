"""follow-up speed: working days to each company answer, escalations

CONTRACT §6 `follow_up` and §5 escalation: a company request keeps the working days (Monday to
Friday) from the decision to its answer, so that "within the SLA" and the median are SQL over
one column; `escalated_at` marks a request escalated to the company's recruiters (once). The
outbox takes the kind `escalation`. Answers already stored are measured here.

Revision ID: a2c4e6f8b135
Revises: f1a2b3c4d5e6
Create Date: 2026-12-03 23:30:00.000000

"""
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a2c4e6f8b135'
down_revision = 'f1a2b3c4d5e6'
branch_labels = None
depends_on = None

KINDS = "'invitation', 'reminder', 'fresh_link', 'candidate_view', 'feedback_ready'"


def _working_days(start: date, end: date) -> int:
    # A copy of feedback.workdays.working_days_between as of this revision: migrations do not import the app.
    if end <= start:
        return 0
    weeks, rest = divmod((end - start).days, 7)
    return weeks * 5 + sum(1 for offset in range(1, rest + 1) if (start + timedelta(days=offset)).weekday() < 5)


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)[:10]).date()


def upgrade():
    with op.batch_alter_table('feedback_requests') as batch_op:
        batch_op.add_column(sa.Column('answered_working_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('outbox_messages') as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_messages_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_outbox_messages_kind'), f"kind IN ({KINDS}, 'escalation')")
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT r.id, a.decided_on, r.answered_at FROM feedback_requests r "
        "JOIN applications a ON a.id = r.application_id "
        "WHERE r.audience = 'company' AND r.answered_at IS NOT NULL")).all()
    updates = [{"id": row[0], "days": _working_days(_as_date(row[1]), _as_date(row[2]))} for row in rows]
    for start in range(0, len(updates), 1000):
        bind.execute(sa.text("UPDATE feedback_requests SET answered_working_days = :days WHERE id = :id"),
                     updates[start:start + 1000])


def downgrade():
    op.execute("DELETE FROM outbox_messages WHERE kind = 'escalation'")
    with op.batch_alter_table('outbox_messages') as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_messages_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_outbox_messages_kind'), f"kind IN ({KINDS})")
    with op.batch_alter_table('feedback_requests') as batch_op:
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('answered_working_days')
