"""Do-not-contact forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class AddForm(FlaskForm):
    value = StringField("Email address or domain", validators=[DataRequired(), Length(max=254)],
                        description="name@example.com, or example.com for everyone there.")
    note = StringField("Reason", validators=[Length(max=500)],
                       description="Why, in a few words (shown in the list).")


class RemoveForm(FlaskForm):
    note = StringField("Why remove it", validators=[Length(max=500)])


class ImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to upload.")],
                     description="One address or domain per row (an email, domain or value "
                                 "column, else the first); optional reason and note columns.")
    note = StringField("Source", validators=[Length(max=500)],
                       description="Where the list comes from (kept as each entry's note).")
