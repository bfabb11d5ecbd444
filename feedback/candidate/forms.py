from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import InputRequired, Length


class AskForFeedbackForm(FlaskForm):
    email = EmailField("Your e-mail address", validators=[InputRequired(), Length(max=320)],
                       render_kw={"autocomplete": "email"})
