"""Sign-in and first-run setup forms."""

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=500)])
    next = HiddenField()


class SetupForm(FlaskForm):
    name = StringField("Your name", validators=[Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=10, max=500)],
                             description="At least 10 characters.")
    confirm = PasswordField("Repeat password", validators=[
        DataRequired(), EqualTo("password", "The passwords do not match.")])


class EmptyForm(FlaskForm):
    """CSRF protection for action buttons."""
