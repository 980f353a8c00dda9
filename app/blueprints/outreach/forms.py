"""Outreach forms: a template, a draft, bulk approval, a preview request."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from app.edge import MAX_ID
from app.outreach.operations import MAX_BODY, MAX_SUBJECT
from app.outreach.templates import MAX_TEMPLATE


class TemplateForm(FlaskForm):
    subject = StringField("Subject", validators=[DataRequired(), Length(max=MAX_SUBJECT)])
    body = TextAreaField("Body", validators=[DataRequired(), Length(max=MAX_TEMPLATE)],
                         render_kw={"rows": 14, "spellcheck": "true"})


class FollowUpForm(FlaskForm):
    follow_up_days = IntegerField(
        "Follow up after (days)", validators=[Optional(), NumberRange(min=1, max=90)],
        description="Empty: no follow-up. The follow-up is drafted and approved like the "
                    "first email, and never drafted once the lead replied, unsubscribed or "
                    "bounced.")


class PreviewForm(FlaskForm):
    """The editor's unsaved text and the lead to fill it for (htmx, every keystroke)."""

    subject = StringField(validators=[Length(max=MAX_TEMPLATE)])
    body = TextAreaField(validators=[Length(max=MAX_TEMPLATE)])
    lead = IntegerField(validators=[Optional(), NumberRange(min=1, max=MAX_ID)])


class DraftForm(FlaskForm):
    subject = StringField("Subject", validators=[DataRequired(), Length(max=MAX_SUBJECT)])
    body = TextAreaField("Body", validators=[DataRequired(), Length(max=MAX_BODY)],
                         render_kw={"rows": 16})


class RejectForm(FlaskForm):
    note = StringField("Why (optional)", validators=[Length(max=500)])


def _ids(_form: Any, field: Any) -> None:
    if any(not 1 <= i <= MAX_ID for i in field.data or []):
        raise ValidationError("The selection holds an id that is not a message's; reload.")


class BulkForm(FlaskForm):
    action = SelectField(choices=[SelectChoice("approve", "Approve"),
                                  SelectChoice("reject", "Reject")],
                         validators=[DataRequired()])
    ids = SelectMultipleField(choices=[], validate_choice=False, coerce=int, validators=[_ids])
