"""Settings forms: the agency profile and the logo upload (no secrets here, ever)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, Field, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from app.settings.validation import (
    SettingsError,
    normalize_colour,
    normalize_phone,
    normalize_region,
    normalize_sender_address,
    normalize_web_url,
)


class AgencyForm(FlaskForm):
    agency_name = StringField("Agency name", validators=[Length(max=120)])
    postal_address = TextAreaField("Postal address", validators=[Length(max=500)])
    sender_name = StringField("Sender name", validators=[Length(max=120)])
    sender_address = EmailField("Sender address", validators=[Length(max=254)],
                                description="For example hello@youragency.com.")
    brand_colour = StringField("Brand colour", validators=[DataRequired(), Length(max=7)],
                               description="Hex colour such as #4f46e5.")
    agency_phone = StringField("Phone for prospects", validators=[Length(max=40)],
                               description="Shown on public audit pages, for example "
                                           "+1 512 555 0100.")
    agency_email = EmailField("Email for prospects", validators=[Length(max=254)])
    website = StringField("Agency website", validators=[Length(max=500)])
    booking_url = StringField("Booking link", validators=[Length(max=500)],
                              description="Where prospects book a call (Calendly or similar).")
    default_region = StringField(
        "Country for phone numbers", validators=[Length(max=2)],
        description="Two letters, such as US, GB or DE: audits read phone numbers written "
                    "without a +country code as this country's.")

    def validate_sender_address(self, field: Field) -> None:
        try:
            field.data = normalize_sender_address(field.data or "")
        except SettingsError as exc:
            raise ValidationError(str(exc)) from None

    def validate_agency_phone(self, field: Field) -> None:
        try:
            field.data = normalize_phone(field.data or "")
        except SettingsError as exc:
            raise ValidationError(str(exc)) from None

    def validate_agency_email(self, field: Field) -> None:
        try:
            field.data = normalize_sender_address(field.data or "")
        except SettingsError as exc:
            raise ValidationError(str(exc)) from None

    def validate_website(self, field: Field) -> None:
        try:
            field.data = normalize_web_url(field.data or "", "website")
        except SettingsError as exc:
            raise ValidationError(str(exc)) from None

    def validate_booking_url(self, field: Field) -> None:
        try:
            field.data = normalize_web_url(field.data or "", "booking_url")
        except SettingsError as exc:
            raise ValidationError(str(exc)) from None

    def validate_default_region(self, field: Field) -> None:
        try:
            field.data = normalize_region(field.data or "")
        except SettingsError as exc:
            raise ValidationError(str(exc)) from None

    def validate_brand_colour(self, field: Field) -> None:
        try:
            field.data = normalize_colour(field.data or "")
        except SettingsError as exc:
            raise ValidationError(str(exc)) from None


class LogoForm(FlaskForm):
    logo = FileField("Logo", validators=[FileRequired("Choose an image file.")],
                     description="PNG, JPEG or WebP, at most 1 MB.")
