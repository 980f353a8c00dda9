"""Lead forms: one lead, the filter bar, import upload/mapping, bulk actions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.datastructures import MultiDict
from wtforms import (
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from app.edge import MAX_ID
from app.leads.columns import FIELDS
from app.leads.csvfile import MAX_CELL, MAX_COLUMNS
from app.leads.search import DEFAULT_SORT, SORTS, LeadFilter
from app.models import LeadStatus
from app.models.states import SALES_STAGES


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """WTForms 3.3+ choices from ``(value, label)`` pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


STATUS_CHOICES = choices((s.value, s.value.replace("_", " ")) for s in LeadStatus)
#: The first option of a "Move to" select: no target until someone picks one.
MOVE_PLACEHOLDER = SelectChoice("", "Move to…")


def move_choices(statuses: Iterable[LeadStatus]) -> list[SelectChoice]:
    """A "Move to" select's options: the placeholder, then ``statuses``."""
    return [MOVE_PLACEHOLDER, *choices((s.value, s.value.replace("_", " ")) for s in statuses)]


class ExtraFieldForm(Form):
    """One more field of a lead (a column kept from an imported file): its name and value.
    A plain ``Form``: the lead form around it carries the CSRF token."""

    name = StringField("Field", validators=[Length(max=MAX_CELL)])
    value = StringField("Value", validators=[Length(max=MAX_CELL)])


def extra_rows(extra: dict[str, Any] | None) -> list[dict[str, str]]:
    """The lead's extra fields as form rows, in name order, plus an empty row to add one."""
    rows = [{"name": str(k), "value": "" if v is None else str(v)}
            for k, v in sorted((extra or {}).items())]
    return [*rows, {"name": "", "value": ""}]


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
    # The extra fields (columns kept from an imported file), edited only where the form
    # shows them: ``extra_shown`` says so, so a post without them keeps the lead's own.
    extra_fields = FieldList(FormField(ExtraFieldForm), max_entries=MAX_COLUMNS + 1)
    # Rendered by hand as a hidden input set to "1" where the section is shown (a
    # HiddenField would also go out empty with ``hidden_tag()`` and win).
    extra_shown = StringField(default="")

    def data_for_service(self) -> dict[str, Any]:
        data = {
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
        if self.extra_shown.data == "1":
            data["extra"] = [(row.form.name.data or "", row.form.value.data or "")
                             for row in self.extra_fields]
        return data


class LeadStatusForm(FlaskForm):
    # Every status validates here (the page offers the lead's own targets, set per
    # request); the ones a person may not set are refused with a reason.
    status = SelectField(
        "Move to",
        choices=[MOVE_PLACEHOLDER, *STATUS_CHOICES],
        validators=[DataRequired("Choose where to move the lead.")],
        validate_choice=False,
    )
    reason = StringField("Note", validators=[Length(max=500)],
                         description="Optional: why, or what happens next.")


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
    site_down = SelectField(
        "Site",
        choices=choices([("", "any"), ("yes", "site down"), ("no", "site up")]),
        validators=[Optional()],
    )
    sort = SelectField(
        "Sort",
        choices=choices((k, k) for s in SORTS for k in (s, "-" + s)),
        validators=[Optional()],
        default=DEFAULT_SORT,
    )

    def to_filter(self) -> LeadFilter:
        """The filter this (validated) form describes; fields with errors are left out."""

        def ok(name: str) -> bool:
            return not getattr(self, name).errors

        statuses = {s.value for s in LeadStatus}
        return LeadFilter(
            q=(self.q.data or "").strip() if ok("q") else "",
            statuses=[s for s in self.status.data or [] if s in statuses] if ok("status") else [],
            score_min=self.score_min.data if ok("score_min") else None,
            score_max=self.score_max.data if ok("score_max") else None,
            audited=self.audited.data or "" if ok("audited") else "",
            city=(self.city.data or "").strip() if ok("city") else "",
            has_email=self.has_email.data or "" if ok("has_email") else "",
            site_down=self.site_down.data or "" if ok("site_down") else "",
            sort=self.sort.data or DEFAULT_SORT if ok("sort") else DEFAULT_SORT,
        )


def filter_from(args: MultiDict[str, str]) -> tuple[FilterForm, LeadFilter]:
    """The filter form bound to the URL, and the filter it describes (invalid parts dropped)."""
    form = FilterForm(formdata=args)
    form.validate()
    return form, form.to_filter()


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


def _ids(field: Any) -> None:
    """Every selected id is a possible lead id (a larger one would overflow the column)."""
    if any(not 1 <= i <= MAX_ID for i in field.data or []):
        raise ValidationError("The selection holds an id that is not a lead's; reload the page.")


class LiveLeadForm(FlaskForm):
    """A lead page's live poll (GET, no CSRF): ``v`` is the version the page shows."""

    class Meta:
        csrf = False

    v = StringField(validators=[Optional(), Length(max=64)])


def _page_sized(field: Any) -> None:
    if len(field.data or []) > 100:
        raise ValidationError("At most 100 rows at once.")


class LiveRowsForm(FlaskForm):
    """A list page's live poll (GET, no CSRF): the ids of the rows it shows."""

    class Meta:
        csrf = False

    ids = SelectMultipleField(
        choices=[], validate_choice=False, coerce=int,
        validators=[lambda _f, fd: _ids(fd), lambda _f, fd: _page_sized(fd)],
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
        "Move to",
        choices=move_choices(SALES_STAGES),
        validators=[Optional()],
        validate_choice=False,  # checked by the action: other statuses get a reason
    )
    scope = SelectField(
        "Apply to",
        choices=choices([("selected", "selected leads"), ("all", "all leads matching the filter")]),
        default="selected",
    )
    ids = SelectMultipleField(
        choices=[], validate_choice=False, coerce=int, validators=[lambda _f, fd: _ids(fd)]
    )
    confirm = HiddenField()
