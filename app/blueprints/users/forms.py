"""Forms for user management (admins only)."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

PW_MESSAGE = "Use at least 10 characters (at most 500)."
PW_HELP = "At least 10 characters; common passwords and their own name or email are refused."
PW_CHECKS = [DataRequired(), Length(min=10, max=500, message=PW_MESSAGE)]
ROLE_CHOICES = [SelectChoice("member", "Member"), SelectChoice("admin", "Admin")]


class UserCreateForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    name = StringField("Name", validators=[Length(max=120)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="member",
                       description="Admins also manage users and settings.")
    password = PasswordField(
        "Password (optional)",
        validators=[Optional(), Length(min=10, max=500, message=PW_MESSAGE)],
        description="Leave it empty to get an invite link: they choose their own password. "
                    "Or set one now and share it with them safely.")


class UserEditForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=120)])
    role = SelectField("Role", choices=ROLE_CHOICES)


class PasswordResetForm(FlaskForm):
    password = PasswordField("New password", validators=PW_CHECKS,
                             description=PW_HELP + " Their sessions end.")
    confirm = PasswordField("Repeat new password", validators=[
        DataRequired(), EqualTo("password", "The passwords do not match.")])
