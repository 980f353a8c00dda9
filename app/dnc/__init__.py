"""Do-not-contact management: the list page's reads, adding and removing entries by hand,
importing a suppression list, exporting it. The checks themselves (at import, draft,
approval and send) are :mod:`app.leads.dnc`."""
