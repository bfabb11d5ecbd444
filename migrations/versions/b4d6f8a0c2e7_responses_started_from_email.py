"""responses: started from the e-mail

CONTRACT §5: the candidate-experience e-mail carries the 0–10 question as eleven links
`/f/<token>?nps=N`; a response whose form was opened from one of them says so, so that the
dashboard can tell how many answers started in the e-mail. Answers stored before are not.

Revision ID: b4d6f8a0c2e7
Revises: a2c4e6f8b135
Create Date: 2026-12-04 06:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b4d6f8a0c2e7'
down_revision = 'a2c4e6f8b135'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('responses') as batch_op:
        batch_op.add_column(sa.Column('started_from_email', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('responses') as batch_op:
        batch_op.drop_column('started_from_email')
