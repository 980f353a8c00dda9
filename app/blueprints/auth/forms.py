"""Sign-in, first-run setup and own-account forms."""

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

PW_HELP = ("At least 10 characters; a few uncommon words make a strong one. Your name, email "
           "and common passwords are refused.")
NEW_PW_CHECKS = [DataRequired(), Length(min=10, max=500,
                                        message="Use at least 10 characters (at most 500).")]


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=500)])
    next = HiddenField()


class SetupForm(FlaskForm):
    name = StringField("Your name", validators=[Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=NEW_PW_CHECKS, description=PW_HELP)
    confirm = PasswordField("Repeat password", validators=[
        DataRequired(), EqualTo("password", "The passwords do not match.")])


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=500)])
    password = PasswordField("New password", validators=NEW_PW_CHECKS,
                             description=PW_HELP + " Your other sessions end.")
    confirm = PasswordField("Repeat new password", validators=[
        DataRequired(), EqualTo("password", "The passwords do not match.")])


class LinkPasswordForm(FlaskForm):
    """The page an invite or password-reset link opens."""

    password = PasswordField("Choose a password", validators=NEW_PW_CHECKS, description=PW_HELP,
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Repeat password", validators=[
        DataRequired(), EqualTo("password", "The passwords do not match.")],
        render_kw={"autocomplete": "new-password"})
