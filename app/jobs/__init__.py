"""Background jobs: Huey carries run ids; the runs table is the truth (docs/reliability.md).

Public API (an operation creates the run and never commits; whoever commits hands it over)::

    from app.jobs import runs
    run = runs.create("audit", subject=("lead", lead.id), payload={...})   # flushes
    runs.submit_after_commit([run.id])   # enqueued once the caller's commit succeeds

Handlers are registered with :func:`app.jobs.registry.handler` in a feature's ``jobs.py``
(imported by the app factory) and get a :class:`app.jobs.context.RunContext` (payload,
log lines, heartbeat, fenced writes).

Modules, lowest first: ``redact``, ``queue`` (the Huey instance; given the executor by the
factory), ``registry``, ``context``, ``dispatch`` (submit now or after commit), ``reaper``,
``runs`` (the lifecycle, the module callers use), ``periodic`` (runs started on a schedule,
such as ``upkeep``), ``worker`` (consumer and reaper thread), ``builtin`` (the ``noop`` and
``sleep`` kinds).

How a run survives crashes:

* claim = one conditional UPDATE ``pending → running`` (ours only if rowcount = 1) with a
  fresh lease token; the attempt is counted at claim;
* a heartbeat thread renews the lease every ``RUN_LEASE_SECONDS / 3``;
* every result write is fenced by the lease token (:meth:`RunContext.fenced`);
* the reaper requeues runs whose lease expired (or marks them dead after
  ``max_attempts``) and resubmits due pending runs that Huey no longer holds (never
  enqueued, queue was down, or a SIGKILLed consumer took the task with it).

Several workers: start exactly one consumer with periodic work (the default) and the
others with ``pitchfast worker --no-periodic``. Periodic work is the reaper thread
(every ``REAPER_INTERVAL_SECONDS``), which also starts the periodic runs that are due
(:func:`app.jobs.registry.periodic`; the runs table says when the last one was). A second reaper by
mistake is harmless (every reaper change is a conditional UPDATE), only wasteful.

Huey's queue lives in its own SQLite file (``HUEY_URL`` default
``sqlite:///<instance>/huey.sqlite3``), or Redis with ``HUEY_URL=redis://…``.
"""
