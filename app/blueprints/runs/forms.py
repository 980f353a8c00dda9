"""Forms of the Runs pages."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField
from wtforms.validators import NumberRange, Optional

from app.edge import MAX_ID

#: The status filter: "failed" includes runs that gave up after their retries ("dead").
STATUS_CHOICES = [
    SelectChoice("", "Any status"),
    SelectChoice("pending", "Waiting"),
    SelectChoice("running", "Running"),
    SelectChoice("succeeded", "Succeeded"),
    SelectChoice("failed", "Failed"),
    SelectChoice("canceled", "Canceled"),
    SelectChoice("dead", "Failed after every retry"),
]


class RunFilterForm(FlaskForm):
    """Filters in the URL (GET, no CSRF)."""

    class Meta:
        csrf = False

    status = SelectField("Status", choices=STATUS_CHOICES, validators=[Optional()])
    kind = SelectField("Kind", choices=[SelectChoice("", "Any kind")], validators=[Optional()])
    since = IntegerField("Within hours", validators=[Optional(), NumberRange(min=1, max=8760)])
    internal = BooleanField("Include internal jobs")
    before = IntegerField(validators=[Optional(), NumberRange(min=1, max=MAX_ID)])
    after = IntegerField(validators=[Optional(), NumberRange(min=0, max=MAX_ID)])

    def query(self, *names: str) -> dict[str, Any]:
        """The valid, non-empty values among ``names`` (a bad one is left out and shown
        with its error)."""
        return {n: self[n].data for n in names
                if not self[n].errors and self[n].data not in (None, "", False)}
