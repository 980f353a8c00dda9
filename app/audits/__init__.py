"""The audits feature's logic (its web layer is ``app.blueprints.audits``).

- ``engine/``: the browser engine (Chromium, network guard, checks, scoring, the result
  document); no Flask and no database, usable on its own (``pitchfast audit``, bench/).
- ``operations``: requesting audits (writes; flush, never commit; activity; runs handed
  to the worker after the commit). ``results``: saving an audit's outcome (used by jobs).
- ``queries``: read models for the audit pages and the lead page's audit panel.
- ``jobs``: the "audit" run handler. ``cli``: ``pitchfast audit URL``.
"""
