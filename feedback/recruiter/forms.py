"""Forms of the recruiter workspace."""
import ipaddress
import re
import socket
from urllib.parse import urlsplit

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
    ValidationError,
)
from wtforms.validators import AnyOf, InputRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from ..services.outgoing_webhooks import EVENT_TYPES

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


EVENT_CHOICES = [SelectChoice(value, label) for value, label in zip(EVENT_TYPES, (
    _l("response.created: a candidate or a company contact answered a survey"),
    _l("feedback.overdue: contacts' feedback was escalated to the company's recruiters")), strict=True)]


WHOLE_ADDRESS = _l("Give a whole address starting with https://, such as https://hooks.example.com/feedback.")


def https_scheme_lowered(value: str | None) -> str | None:
    """The address as typed, trimmed, with ``HTTPS://`` written as ``https://``."""
    value = (value or "").strip()
    return "https://" + value[8:] if value[:8].lower() == "https://" else value


def public_https_url(form, field) -> None:
    """An https:// address of a public host, judged by how it is written: never this machine, a
    private network or a one-word name (the operator's CLI may, for a receiver beside the service).
    Names are not resolved here; docs/connectors/outgoing-webhooks.md says what that leaves."""
    url = field.data or ""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port  # reading the port checks it: ValueError beyond 65535
    except ValueError:
        raise ValidationError(WHOLE_ADDRESS) from None
    if parts.scheme != "https" or not host or port == 0 or not url.isprintable() or " " in url:
        raise ValidationError(WHOLE_ADDRESS)
    if parts.username is not None or parts.password is not None:
        raise ValidationError(_("Give the address without a user name or password."))
    host = host.rstrip(".")
    if ":" in host:  # an IPv6 literal ([…]); one with a zone id (%eth0) names this machine's link
        try:
            public = "%" not in host and ipaddress.IPv6Address(host).is_global
        except ValueError:
            public = False
    elif not re.fullmatch(r"[a-z0-9.-]+", host):  # %-escapes, which the sender would decode, or non-ASCII
        raise ValidationError(_("Write the host in letters, digits, hyphens and dots (an international name "
                                "in its xn-- form)."))
    else:  # one word ("redis", "metadata") is a name inside a network; 127.1 or 0x7f.0.0.1 an address
        public = ("." in host.strip(".") and _not_an_address(host)
                  and not host.endswith((".localhost", ".local", ".internal")))
    if not public:
        raise ValidationError(_("Webhooks go to a public address, not to this machine or a private network."))


def _not_an_address(host: str) -> bool:
    """True for a name; for an IPv4 address in any form the resolver reads as one (``127.1``,
    ``0x7f.0.0.1``), whether it is a public one. Never asks DNS."""
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host)).is_global
    except OSError:
        return True


class WebhookEndpointForm(FlaskForm):
    """A new outgoing webhook endpoint for one of the user's companies (its secret shown once)."""

    company = SelectField(_l("Company"), coerce=int, validators=[InputRequired(_l("Choose the company."))])
    url = URLField(_l("Address (https://)"), filters=[https_scheme_lowered],
                   validators=[InputRequired(_l("Give the receiver's address.")), Length(max=500), public_https_url],
                   description=_l("Where the events are POSTed, signed as Standard Webhooks."),
                   render_kw={"maxlength": 500, "autocomplete": "url", "placeholder": "https://hooks.example.com/feedback"})
    events = SelectMultipleField(_l("Events"), choices=EVENT_CHOICES, default=list(EVENT_TYPES),
                                 widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())

    def validate_events(self, field) -> None:
        """At least one (not DataRequired: its ``required`` flag would make every checkbox required)."""
        if not field.data:
            raise ValidationError(_("Tick at least one event."))


class RevokeWebhookForm(FlaskForm):
    """Revoke one webhook endpoint, or send it a test (the buttons of each endpoint: a CSRF token only)."""


class CompanyLanguageForm(FlaskForm):
    """A company's language (one form per company on the companies page; choices set by the view)."""

    locale = SelectField(_l("Language"), choices=[])
