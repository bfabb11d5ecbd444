"""Forms of the recruiter workspace."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, Regexp

REVIEW_DECISIONS = ("approve", "approve_as_written", "withhold")


class UploadForm(FlaskForm):
    file = FileField("Outcomes CSV", validators=[FileRequired("Choose a CSV file."),
                                                 FileAllowed(["csv", "txt"], "Upload a .csv file.")])


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

    decision = StringField("Decision", validators=[InputRequired("Choose approve or withhold."),
                                                   AnyOf(REVIEW_DECISIONS, "Choose approve or withhold.")])
    text = TextAreaField("Text the candidate will see (edit if needed)", validators=[Length(max=1500)],
                         render_kw={"rows": 3, "maxlength": 1500})


class ApproveUnflaggedForm(FlaskForm):
    """Approve, as written, the unflagged advice the page listed: ``ids`` are the reviews shown."""

    ids = HiddenField(validators=[InputRequired(), Length(max=4000), Regexp(r"^\d+(,\d+)*$")])
