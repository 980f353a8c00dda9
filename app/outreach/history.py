"""Every status change of an outreach message goes through :func:`record_status`: the
state machine checks it (app.models.states) and one OutreachEvent row keeps it, so the
lead page shows a message's whole history."""

from __future__ import annotations

from app.activity import Actor
from app.extensions import db
from app.models import Outreach, OutreachEvent, OutreachStatus, transition


def record_status(
    outreach: Outreach, status: OutreachStatus, *, actor: Actor, note: str = ""
) -> None:
    """Move ``outreach`` to ``status`` (InvalidTransition when the machine forbids it) and
    add one history row; the caller flushes or commits. Staying put records nothing."""
    old = OutreachStatus(outreach.status) if outreach.status is not None else None
    if old == status:
        return
    transition(outreach, status)
    db.session.add(
        OutreachEvent(
            outreach_id=outreach.id,
            from_status=old,
            to_status=status,
            actor_kind=actor.kind,
            actor_id=actor.id,
            actor_label=actor.label[:120],
            note=note[:1000],
        )
    )


def record_created(outreach: Outreach, *, actor: Actor, note: str = "") -> None:
    """The first history row of a message just flushed (its status as created)."""
    db.session.add(
        OutreachEvent(
            outreach_id=outreach.id,
            from_status=None,
            to_status=OutreachStatus(outreach.status),
            actor_kind=actor.kind,
            actor_id=actor.id,
            actor_label=actor.label[:120],
            note=note[:1000],
        )
    )
