"""Outreach authoring: templates, drafts, approval, replies and follow-ups (issue 12).

Sending (APPROVED → QUEUED/SENDING/SENT/FAILED/UNKNOWN) lives beside it in the delivery
modules; both record every status change through :mod:`app.outreach.history`.
"""
