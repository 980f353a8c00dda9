"""Outreach pages: the approval queue, drafts, templates with a live preview, a lead's
messages."""

from app.blueprints.outreach.routes import bp

__all__ = ["bp"]
