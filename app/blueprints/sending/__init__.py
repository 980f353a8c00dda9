"""Sending: SMTP status and test email, campaign pacing and resume, messages as sent."""

from app.blueprints.sending.routes import bp

__all__ = ["bp"]
