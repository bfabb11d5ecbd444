"""Forms of the recruiter workspace."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import InputRequired, Length


class UploadForm(FlaskForm):
    file = FileField("Outcomes CSV", validators=[FileRequired("Choose a CSV file."),
                                                 FileAllowed(["csv", "txt"], "Upload a .csv file.")])


class ConfirmImportForm(FlaskForm):
    upload = HiddenField(validators=[InputRequired(), Length(max=500)])


class CancelBatchForm(FlaskForm):
    """Cancel a batch's unsent e-mails (a button)."""


class RemindContactForm(FlaskForm):
    """Remind one overdue company contact now (a button per contact on the overview)."""

    company = HiddenField(validators=[InputRequired(), Length(max=12)])
    contact = HiddenField(validators=[InputRequired(), Length(max=320)])


class ReopenReviewForm(FlaskForm):
    """Put decided advice back in the queue (a button, admins only)."""


class ReviewForm(FlaskForm):
    decision = RadioField("Decision", choices=[SelectChoice("approve", "Approve"), SelectChoice("withhold", "Withhold")],
                          validators=[InputRequired("Choose approve or withhold.")])
    text = TextAreaField("Text the candidate will see (edit if needed)", validators=[Length(max=1500)],
                         render_kw={"rows": 4, "maxlength": 1500})
