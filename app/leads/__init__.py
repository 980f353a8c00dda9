"""Leads: the logic behind the leads pages and ``pitchfast leads``.

``operations`` writes (add, edit, status, bulk actions, import: flush, never commit,
record the activity), ``queries`` reads (the loader, the lead page, the list, the
export); ``search`` builds the list's filter, ``importer`` classifies a CSV file's rows
(``csvfile`` reads it, ``columns`` maps it), ``normalize`` cleans values, ``dnc`` checks
the do-not-contact list and ``search_index`` keeps the full-text index in step.
"""
