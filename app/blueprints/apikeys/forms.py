"""The form that makes an API key (admins only)."""

from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional


class ApiKeyForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=80)],
                       description="Who uses it: the tool or integration (n8n, Zapier, a scraper).")
    scope = SelectField("Scope", choices=[SelectChoice("read", "Read: GET only"),
                                          SelectChoice("write", "Write: also create and change")],
                        default="read")
    expires = DateField("Expires (optional)", validators=[Optional()],
                        description="The key stops working at the start of this day (UTC).")
