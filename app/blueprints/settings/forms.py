"""Settings forms: the agency profile and the logo upload (no secrets here, ever)."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from app import settings


class AgencyForm(FlaskForm):
    agency_name = StringField("Agency name", validators=[Length(max=120)])
    postal_address = TextAreaField("Postal address", validators=[Length(max=500)],
                                   description="Shown in email footers (anti-spam laws need it).")
    sender_name = StringField("Sender name", validators=[Length(max=120)],
                              description="The name prospects see in their inbox.")
    sender_address = EmailField("Sender address", validators=[Length(max=254)],
                                description="For example hello@youragency.com. "
                                            "SMTP credentials go in instance/config.py.")
    brand_colour = StringField("Brand colour", validators=[DataRequired(), Length(max=7)],
                               description="Hex colour such as #4f46e5.")

    def validate_sender_address(self, field):
        try:
            field.data = settings.normalize_sender_address(field.data or "")
        except settings.SettingsError as exc:
            raise ValidationError(str(exc)) from None

    def validate_brand_colour(self, field):
        try:
            field.data = settings.normalize_colour(field.data or "")
        except settings.SettingsError as exc:
            raise ValidationError(str(exc)) from None


class LogoForm(FlaskForm):
    logo = FileField("Logo", validators=[FileRequired("Choose an image file.")],
                     description="PNG, JPEG or WebP, at most 1 MB.")
