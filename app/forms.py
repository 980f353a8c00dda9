"""Forms shared by every blueprint."""

from flask_wtf import FlaskForm


class EmptyForm(FlaskForm):
    """CSRF protection for action buttons (a form with no fields)."""
