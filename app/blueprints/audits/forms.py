"""Audit action forms (CSRF-protected buttons)."""

from flask_wtf import FlaskForm
from wtforms import HiddenField


class AuditRequestForm(FlaskForm):
    """The Audit / Re-audit button; ``next`` is the page to return to without htmx."""

    next = HiddenField()
