"""Background jobs: Huey carries run ids; the runs table is the truth (RELIABILITY.md §2).

Public API::

    from app.jobs import runs
    run = runs.create("audit", subject=("lead", lead.id), payload={...})   # flushes
    db.session.commit()
    runs.submit([run.id])          # enqueue only after the commit that created the run

Handlers are registered with :func:`app.jobs.registry.handler`.
"""
