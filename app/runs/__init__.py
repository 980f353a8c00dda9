"""Runs: the pages' read models (:mod:`.queries`) and a person's retry or cancel
(:mod:`.operations`). The run lifecycle itself is the jobs core, :mod:`app.jobs`."""
