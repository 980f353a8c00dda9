"""Record who did what, for the live activity feed.

Every operation takes the :class:`Actor` who acts and records its activity itself, so the
web, the CLI, jobs and the API leave the same trail for the same action::

    activity.record(actor, "lead.created", f"added {lead.business_name}",
                    subject=("lead", lead.id), campaign_id=lead.campaign_id)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from app.extensions import db
from app.models import Activity

if TYPE_CHECKING:
    from app.models import User

ActorKind = Literal["user", "api_key", "system"]


@dataclass(frozen=True)
class Actor:
    """Who acts: a user, an API key, or the system itself (jobs, upkeep, the CLI's own work)."""

    kind: ActorKind
    id: int | None
    label: str

    @classmethod
    def of_user(cls, user: User) -> Actor:
        """The actor for a signed-in (or CLI-named) user."""
        return cls("user", user.id, user.email)

    @classmethod
    def of_api_key(cls, key_id: int, name: str) -> Actor:
        """The actor for a request made with an API key ("API key 'n8n'")."""
        return cls("api_key", key_id, f"API key '{name}'")

    @classmethod
    def system(cls, label: str = "PitchFast") -> Actor:
        """The app acting on its own (a job, the reaper, a command run without a user)."""
        return cls("system", None, label)

    @property
    def user_id(self) -> int | None:
        """The user's id when a user acts, else None (for ``created_by`` columns)."""
        return self.id if self.kind == "user" else None


SYSTEM = Actor.system()


def record(
    actor: Actor,
    verb: str,
    summary: str,
    *,
    subject: tuple[str, int | None] | None = None,
    campaign_id: int | None = None,
) -> Activity:
    """Add an activity row to the session (written by the caller's flush or commit)."""
    row = Activity(
        verb=verb,
        summary=summary[:500],
        user_id=actor.user_id,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label[:120],
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        campaign_id=campaign_id,
    )
    db.session.add(row)
    return row
