"""Forms of the recruiter workspace."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, PasswordField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, Optional, Regexp

REVIEW_DECISIONS = ("approve", "approve_as_written", "withhold")


class UploadForm(FlaskForm):
    file = FileField(_l("Outcomes CSV"), validators=[FileRequired(_l("Choose a CSV file.")),
                                                     FileAllowed(["csv", "txt"], _l("Upload a .csv file."))])


class ConfirmImportForm(FlaskForm):
    upload = HiddenField(validators=[InputRequired(), Length(max=800)])
    valid_only = HiddenField(default="", validators=[Length(max=1)])  # "1": import the valid rows, skip the rest


class CancelBatchForm(FlaskForm):
    """Cancel a batch's unsent e-mails (a button)."""


class RequeueBatchForm(FlaskForm):
    """Queue a batch's cancelled e-mails again (a button)."""


class RemindContactForm(FlaskForm):
    """Remind one overdue company contact now (a button per contact on the overview)."""

    company = HiddenField(validators=[InputRequired(), Length(max=12)])
    contact = HiddenField(validators=[InputRequired(), Length(max=320)])


class ReopenReviewForm(FlaskForm):
    """Put decided advice back in the queue (a button, admins only)."""


class ReviewForm(FlaskForm):
    """One piece of advice: three submit buttons share the ``decision`` name. "approve" releases the
    text field (edited or not), "approve_as_written" the company's own text, "withhold" nothing."""

    decision = StringField(_l("Decision"), validators=[InputRequired(_l("Choose approve or withhold.")),
                                                       AnyOf(REVIEW_DECISIONS, _l("Choose approve or withhold."))])
    text = TextAreaField(_l("Text the candidate will see (edit if needed)"), validators=[Length(max=1500)],
                         render_kw={"rows": 3, "maxlength": 1500})


class ApproveUnflaggedForm(FlaskForm):
    """Approve, as written, the unflagged advice the page listed: ``ids`` are the reviews shown."""

    ids = HiddenField(validators=[InputRequired(), Length(max=4000), Regexp(r"^\d+(,\d+)*$")])


CONNECTOR_CHOICES = [SelectChoice(value, label) for value, label in (
    ("greenhouse", "Greenhouse"), ("ashby", "Ashby"), ("lever", "Lever"), ("recruitee", "Recruitee"),
    ("workable", "Workable"), ("generic", _l("Other (the generic outcome event)")))]


class ConnectorForm(FlaskForm):
    """A new ATS connector for one of the user's companies (the secret is made here and shown once)."""

    company = SelectField(_l("Company"), coerce=int, validators=[InputRequired(_l("Choose the company."))])
    kind = SelectField("ATS", choices=CONNECTOR_CHOICES, validators=[InputRequired(_l("Choose the ATS."))])
    api_key = PasswordField(_l("Lever API key (Lever only)"), validators=[Optional(), Length(max=200)],
                            description=_l("Lever's webhooks carry ids only: the key lets us read the candidate, "
                                           "the posting and the archive reason."))
    api_url = StringField(_l("Lever API base URL (Lever only, optional)"), validators=[Optional(), Length(max=300)],
                          description=_l("Leave empty for https://api.lever.co/v1."))

    def validate(self, extra_validators=None) -> bool:
        """The fields, then what depends on the kind (Optional() ends a field's own chain when empty)."""
        valid = super().validate(extra_validators)
        lever = self.kind.data == "lever"
        if lever and not self.api_key.data:
            self.api_key.errors = [*self.api_key.errors, _("A Lever connector needs the company's Lever API key.")]
        elif not lever and self.api_key.data:
            self.api_key.errors = [*self.api_key.errors, _("Only a Lever connector takes an API key.")]
        if self.api_url.data and (not lever or not self.api_url.data.startswith(("https://", "http://"))):
            self.api_url.errors = [*self.api_url.errors,
                                   _("Only a Lever connector takes an API URL, starting with https://.")]
        return valid and not self.api_key.errors and not self.api_url.errors


class RevokeConnectorForm(FlaskForm):
    """Revoke one connector (a button per connector)."""


class CompanyLanguageForm(FlaskForm):
    """A company's language (one form per company on the companies page; choices set by the view)."""

    locale = SelectField(_l("Language"), choices=[])
