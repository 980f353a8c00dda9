"""Do-not-contact checks, additions and removals (BlacklistEntry: by email or by domain)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select

from app.extensions import db
from app.leads.normalize import email_domain
from app.models import BlacklistEntry, BlacklistKind, BlacklistReason

_CHUNK = 500


def matching(
    domains: Iterable[str | None], emails: Iterable[str | None]
) -> dict[tuple[str, str], str]:
    """``{(kind, value): reason}`` for entries matching any of the given values (chunked reads)."""
    found: dict[tuple[str, str], str] = {}
    for kind, values in ((BlacklistKind.DOMAIN, domains), (BlacklistKind.EMAIL, emails)):
        vals = sorted({v for v in values if v})
        for start in range(0, len(vals), _CHUNK):
            stmt = select(BlacklistEntry.value, BlacklistEntry.reason).where(
                BlacklistEntry.kind == kind, BlacklistEntry.value.in_(vals[start : start + _CHUNK])
            )
            for value, reason in db.session.execute(stmt):
                found[(kind.value, value)] = getattr(reason, "value", reason)
    return found


def reason_for(
    blocked: dict[tuple[str, str], str], domain: str | None, email: str | None
) -> str | None:
    """A sentence saying why a lead is on the do-not-contact list, or None."""
    if email and ("email", email) in blocked:
        return f"{email} is on the do-not-contact list ({blocked[('email', email)]})"
    for d in (domain, email_domain(email)):
        if d and ("domain", d) in blocked:
            return f"{d} is on the do-not-contact list ({blocked[('domain', d)]})"
    return None


def check(domain: str | None, email: str | None) -> str | None:
    """Why one lead may not be contacted, or None (one or two small reads)."""
    return reason_for(matching([domain, email_domain(email)], [email]), domain, email)


def add(
    pairs: Iterable[tuple[str | None, str | None]],
    user_id: int | None,
    reason: BlacklistReason = BlacklistReason.MANUAL,
) -> int:
    """Add each ``(domain, email)`` to the list (skipping existing entries); returns how many."""
    wanted: set[tuple[str, str]] = set()
    for domain, email in pairs:
        if domain:
            wanted.add((BlacklistKind.DOMAIN.value, domain))
        if email:
            wanted.add((BlacklistKind.EMAIL.value, email))
    existing = matching(
        [v for k, v in wanted if k == "domain"], [v for k, v in wanted if k == "email"]
    )
    new = sorted(wanted - set(existing))
    for kind, value in new:
        db.session.add(
            BlacklistEntry(
                kind=BlacklistKind(kind), value=value, reason=reason, created_by_id=user_id
            )
        )
    db.session.flush()
    return len(new)


def remove(domain: str | None, email: str | None) -> int:
    """Take one lead's domain and email (and its email's domain) off the list; returns
    how many entries went."""
    removed = 0
    for kind, values in (
        (BlacklistKind.DOMAIN, {domain, email_domain(email)}),
        (BlacklistKind.EMAIL, {email}),
    ):
        wanted = sorted(v for v in values if v)
        if wanted:
            result = db.session.execute(
                delete(BlacklistEntry)
                .where(BlacklistEntry.kind == kind, BlacklistEntry.value.in_(wanted))
                .execution_options(synchronize_session=False)
            )
            removed += int(getattr(result, "rowcount", 0) or 0)
    return removed
