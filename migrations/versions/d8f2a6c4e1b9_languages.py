"""Languages: a locale for applications, candidates, companies and logins; surveys stored per language.

Revision ID: d8f2a6c4e1b9
Revises: c5e7a9b1d3f6
Create Date: 2026-12-04

Every existing survey row is the English wording (locale 'en'); a translation is a survey row of
the same key and version in another locale, with its own question rows.
"""
import sqlalchemy as sa
from alembic import op

revision = 'd8f2a6c4e1b9'
down_revision = 'c5e7a9b1d3f6'
branch_labels = None
depends_on = None

_PEOPLE = ("applications", "candidates", "companies", "users")


def upgrade():
    for table in _PEOPLE:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=True))
    with op.batch_alter_table('surveys') as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), server_default='en', nullable=False))
        batch_op.drop_constraint('uq_surveys_key_version', type_='unique')
        batch_op.create_unique_constraint('uq_surveys_key_version_locale', ['key', 'version', 'locale'])


def downgrade():
    # Answers given to a translated wording are moved to the English wording of the same version
    # (the same question keys): the figures stay whole, only the wording they answered is lost.
    bind = op.get_bind()
    same = ("FROM surveys t JOIN surveys e ON e.key = t.key AND e.version = t.version AND e.locale = 'en' "
            "WHERE t.locale <> 'en'")
    surveys = bind.execute(sa.text(f"SELECT t.id, e.id {same}")).all()
    questions = bind.execute(sa.text(
        "SELECT tq.id, eq.id FROM questions tq JOIN surveys t ON t.id = tq.survey_id "
        "JOIN surveys e ON e.key = t.key AND e.version = t.version AND e.locale = 'en' "
        "JOIN questions eq ON eq.survey_id = e.id AND eq.key = tq.key WHERE t.locale <> 'en'")).all()
    for translated, english in surveys:
        bind.execute(sa.text("UPDATE responses SET survey_id = :e WHERE survey_id = :t"), {"e": english, "t": translated})
    for translated, english in questions:
        bind.execute(sa.text("UPDATE answers SET question_id = :e WHERE question_id = :t"), {"e": english, "t": translated})
        tallies = bind.execute(sa.text("SELECT company_id, audience, stage, value, count FROM answer_tallies "
                                       "WHERE question_id = :t"), {"t": translated}).all()
        for company_id, audience, stage, value, count in tallies:
            key = {"c": company_id, "a": audience, "s": stage, "v": value, "n": count, "e": english}
            added = bind.execute(sa.text(
                "UPDATE answer_tallies SET count = count + :n WHERE company_id = :c AND audience = :a "
                "AND stage = :s AND question_id = :e AND value = :v"), key).rowcount
            if not added:
                bind.execute(sa.text("INSERT INTO answer_tallies (company_id, audience, stage, question_id, value, count) "
                                     "VALUES (:c, :a, :s, :e, :v, :n)"), key)
        bind.execute(sa.text("DELETE FROM answer_tallies WHERE question_id = :t"), {"t": translated})
    bind.execute(sa.text("DELETE FROM questions WHERE survey_id IN (SELECT id FROM surveys WHERE locale <> 'en')"))
    bind.execute(sa.text("DELETE FROM surveys WHERE locale <> 'en'"))
    with op.batch_alter_table('surveys') as batch_op:
        batch_op.drop_constraint('uq_surveys_key_version_locale', type_='unique')
        batch_op.create_unique_constraint('uq_surveys_key_version', ['key', 'version'])
        batch_op.drop_column('locale')
    for table in reversed(_PEOPLE):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column('locale')
