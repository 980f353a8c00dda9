"""Campaign forms."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import EmailField, Field, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from app.campaigns.operations import SLUG_RE
from app.campaigns.queries import slug_taken


class CampaignForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        "Slug",
        validators=[
            Optional(),
            Length(max=80),
            Regexp(SLUG_RE, message="Use a-z, 0-9 and single hyphens."),
        ],
        description="Used in links. Leave empty to derive it from the name.",
    )
    niche = StringField("Niche", validators=[Length(max=120)], description="e.g. dentists in Leeds")
    sender_name = StringField("Sender name", validators=[Length(max=120)])
    sender_email = EmailField(
        "Sender email", validators=[Optional(), Email(check_deliverability=False), Length(max=254)]
    )
    email_subject_template = StringField("Email subject template", validators=[Length(max=300)])
    email_body_template = TextAreaField("Email body template", validators=[Length(max=20_000)])

    def __init__(self, *args: Any, campaign_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._campaign_id = campaign_id

    def validate_slug(self, field: Field) -> None:
        if field.data and slug_taken(field.data.strip().lower(), self._campaign_id):
            raise ValidationError("Another campaign already uses this slug.")


class StatusForm(FlaskForm):
    status = HiddenField(validators=[DataRequired()])
