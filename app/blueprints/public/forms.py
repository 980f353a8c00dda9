"""Publishing forms (CSRF-protected buttons)."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField

EXPIRY_CHOICES = [("", "Never expires"), ("7", "Expires in 7 days"),
                  ("30", "Expires in 30 days"), ("90", "Expires in 90 days")]


class PublishForm(FlaskForm):
    """Publish (or re-publish) an audit; ``next`` is the page to return to."""

    expires = SelectField("Expiry", choices=[SelectChoice(v, label) for v, label in EXPIRY_CHOICES],
                          default="")
    next = HiddenField()


class LinkActionForm(FlaskForm):
    """Revoke, rotate, bulk publish: a button and where to go back to."""

    next = HiddenField()
