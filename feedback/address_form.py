"""The one-field form that asks a person for their own address (/me, and an old unsubscribe link)."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import InputRequired, Length, ValidationError

from .names import normalise_address


class AddressForm(FlaskForm):
    email = EmailField(_l("Your e-mail address"), validators=[InputRequired(), Length(max=320)],
                       render_kw={"autocomplete": "email"})

    def validate_email(self, field) -> None:
        try:
            normalise_address(field.data)
        except ValueError as exc:
            raise ValidationError(_("Enter your e-mail address, like name@example.org.")) from exc
