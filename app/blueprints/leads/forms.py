"""Lead forms: one lead, the filter bar, import upload/mapping, bulk actions."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.leads.importer import FIELDS
from app.leads.search import SORTS
from app.models import LeadStatus
from app.models.states import AUDIT_ONLY_STATUSES


def choices(pairs) -> list[SelectChoice]:
    """WTForms 3.3+ choices from ``(value, label)`` pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


STATUS_CHOICES = choices((s.value, s.value.replace("_", " ")) for s in LeadStatus)
#: Statuses a person can move leads to (the others only audits set).
MANUAL_STATUS_CHOICES = [c for c in STATUS_CHOICES if c.value not in AUDIT_ONLY_STATUSES]


class LeadForm(FlaskForm):
    business_name = StringField(
        "Business name",
        validators=[Length(max=300)],
        description="Defaults to the domain when empty.",
    )
    website_url = StringField(
        "Website",
        validators=[DataRequired(), Length(max=2048)],
        description="A URL or a domain, e.g. smile-dental.co.uk",
    )
    email = EmailField("Email", validators=[Optional(), Length(max=254)])
    contact_name = StringField("Contact name", validators=[Length(max=200)])
    phone = StringField("Phone", validators=[Length(max=64)])
    city = StringField("City", validators=[Length(max=120)])
    address = StringField("Address", validators=[Length(max=500)])
    notes = TextAreaField("Notes", validators=[Length(max=10_000)])

    def data_for_service(self) -> dict:
        return {
            name: getattr(self, name).data
            for name in (
                "business_name",
                "website_url",
                "email",
                "contact_name",
                "phone",
                "city",
                "address",
                "notes",
            )
        }


class LeadStatusForm(FlaskForm):
    # Every status validates here; the ones a person may not set are refused with a reason.
    status = SelectField("Move to", choices=STATUS_CHOICES, validators=[DataRequired()])
    reason = StringField("Reason", validators=[Length(max=500)])


class FilterForm(FlaskForm):
    """The filter bar (GET, no CSRF): every field lives in the URL."""

    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=200)])
    status = SelectMultipleField("Status", choices=STATUS_CHOICES, validators=[Optional()])
    score_min = IntegerField("Score from", validators=[Optional(), NumberRange(0, 100)])
    score_max = IntegerField("to", validators=[Optional(), NumberRange(0, 100)])
    audited = SelectField(
        "Audited",
        choices=choices([("", "any"), ("yes", "audited"), ("no", "not audited")]),
        validators=[Optional()],
    )
    city = StringField("City", validators=[Optional(), Length(max=120)])
    has_email = SelectField(
        "Email",
        choices=choices([("", "any"), ("yes", "has email"), ("no", "no email")]),
        validators=[Optional()],
    )
    sort = SelectField(
        "Sort",
        choices=choices((k, k) for s in SORTS for k in (s, "-" + s)),
        validators=[Optional()],
        default="-created",
    )


class ImportUploadForm(FlaskForm):
    file = FileField(
        "CSV file",
        validators=[FileRequired("Choose a CSV file to upload.")],
        description="UTF-8 or Windows-1252, comma or semicolon separated.",
    )


class ImportMappingForm(FlaskForm):
    """One select per lead field; choices are the file's columns (set per request)."""

    commit = HiddenField()


for _name, (_label, _len) in FIELDS.items():
    setattr(
        ImportMappingForm, f"map_{_name}", SelectField(_label, choices=[], validate_choice=False)
    )


class BulkForm(FlaskForm):
    action = SelectField(
        "Action",
        choices=choices(
            [
                ("audit", "Audit"),
                ("status", "Change status"),
                ("blacklist", "Add to do-not-contact"),
                ("delete", "Delete"),
            ]
        ),
        validators=[DataRequired()],
    )
    new_status = SelectField(
        "New status",
        choices=[SelectChoice("", "—"), *MANUAL_STATUS_CHOICES],
        validators=[Optional()],
        validate_choice=False,  # checked by the action: audit-only statuses get a reason
    )
    scope = SelectField(
        "Apply to",
        choices=choices([("selected", "selected leads"), ("all", "all leads matching the filter")]),
        default="selected",
    )
    ids = SelectMultipleField(choices=[], validate_choice=False, coerce=int)
    confirm = HiddenField()
