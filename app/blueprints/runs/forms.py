"""Forms of the Runs pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField
from wtforms.validators import NumberRange, Optional

from app.edge import MAX_ID
from app.models import RunStatus


class RunFilterForm(FlaskForm):
    """Filters in the URL (GET, no CSRF)."""

    class Meta:
        csrf = False

    status = SelectField(
        "Status",
        choices=[SelectChoice("", "All statuses")] + [SelectChoice(s.value) for s in RunStatus],
        validators=[Optional()],
    )
    kind = SelectField("Kind", choices=[SelectChoice("", "All kinds")], validators=[Optional()])
    before = IntegerField(validators=[Optional(), NumberRange(min=1, max=MAX_ID)])
    after = IntegerField(validators=[Optional(), NumberRange(min=0, max=MAX_ID)])
