"""Sending forms: a campaign's pace, settling a message whose fate is unknown."""

from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from app.outreach.window import valid_zone

_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")


def minutes(value: str | None) -> int | None:
    """``"09:30"`` → 570; empty → None."""
    if not value:
        return None
    hours, _, mins = value.partition(":")
    return int(hours) * 60 + int(mins)


def hhmm(value: int | None) -> str:
    return "" if value is None else f"{value // 60:02d}:{value % 60:02d}"


class PaceForm(FlaskForm):
    daily_cap = IntegerField("Emails per day", validators=[Optional(), NumberRange(1, 100_000)],
                             description="Empty: no daily cap. Days are the campaign's local "
                                         "days.")
    domain_daily_cap = IntegerField(
        "Emails per day to one recipient domain", validators=[Optional(), NumberRange(1, 10_000)],
        description="Empty: no cap (say 20 to go easy on gmail.com and the like).")
    min_spacing_seconds = IntegerField(
        "Seconds between two emails", validators=[Optional(), NumberRange(0, 86_400)],
        description="0: as fast as the server takes them.")
    window_start = StringField("Send from", validators=[Optional(), Length(max=5)],
                               render_kw={"placeholder": "09:00"})
    window_end = StringField("Send until", validators=[Optional(), Length(max=5)],
                             render_kw={"placeholder": "17:00"},
                             description="Empty: any time of day.")
    timezone = StringField("Time zone", validators=[Length(min=1, max=64)],
                           render_kw={"placeholder": "Europe/Lisbon"},
                           description="An IANA name such as Europe/Lisbon or America/New_York.")

    def validate_window_start(self, field: Any) -> None:
        if field.data and not _HHMM.fullmatch(field.data.strip()):
            raise ValidationError("Use HH:MM, such as 09:00.")

    def validate_window_end(self, field: Any) -> None:
        if field.data and not _HHMM.fullmatch(field.data.strip()):
            raise ValidationError("Use HH:MM, such as 17:00.")
        start, end = (self.window_start.data or "").strip(), (field.data or "").strip()
        if bool(start) != bool(end):
            raise ValidationError("Give both ends of the window, or neither.")
        if start and end and _HHMM.fullmatch(start) and minutes(start) >= minutes(end):  # type: ignore[operator]
            raise ValidationError("The window must end after it starts (same local day).")

    def validate_timezone(self, field: Any) -> None:
        field.data = (field.data or "").strip()
        if not valid_zone(field.data):
            raise ValidationError(f"Unknown time zone {field.data!r}: use an IANA name such "
                                  "as Europe/Lisbon.")
