"""A campaign's sending pace as values (caps, spacing, window, time zone) and the clock
arithmetic on it. Pure: no database, so both the dispatcher (:mod:`app.outreach.pacing`)
and the send claim (:mod:`app.outreach.delivery`) use it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.models import Campaign


@dataclass(frozen=True)
class Pace:
    daily_cap: int | None
    domain_cap: int | None
    spacing: timedelta
    window: tuple[int, int] | None  # minutes after local midnight: [start, end)
    tz: ZoneInfo


def zone(name: str | None) -> ZoneInfo:
    """The campaign's time zone (UTC when unset or unknown)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def valid_zone(name: str) -> bool:
    """True when ``name`` is a known IANA time zone."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def pace_of(c: Campaign) -> Pace:
    window = None
    if c.send_window_start is not None and c.send_window_end is not None:
        window = (int(c.send_window_start), int(c.send_window_end))
    return Pace(
        daily_cap=c.daily_cap,
        domain_cap=c.domain_daily_cap,
        spacing=timedelta(seconds=max(int(c.min_spacing_seconds or 0), 0)),
        window=window,
        tz=zone(c.timezone),
    )


def _utc(local: datetime) -> datetime:
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def local_day(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The campaign-local day around ``now`` (naive UTC in and out): [start, end)."""
    local = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=1, hours=2)).replace(hour=0)  # DST-proof next midnight
    return _utc(start), _utc(end)


def open_until(now: datetime, pace: Pace) -> datetime | None:
    """When the sending window open at ``now`` closes (naive UTC); None when closed now.
    Without a window: the end of the local day."""
    start, end = local_day(now, pace.tz)
    if pace.window is None:
        return end
    local = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(pace.tz)
    minute = local.hour * 60 + local.minute
    lo, hi = pace.window
    if not lo <= minute < hi:
        return None
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return min(_utc(midnight + timedelta(minutes=hi)), end)


def describe(pace: Pace) -> str:
    """The limits in words, for the campaign page."""
    parts = [f"at most {pace.daily_cap} a day" if pace.daily_cap else "no daily cap",
             f"{pace.domain_cap} a day per recipient domain" if pace.domain_cap
             else "no per-domain cap"]
    if pace.spacing:
        parts.append(f"{int(pace.spacing.total_seconds())} s apart")
    if pace.window:
        lo, hi = pace.window
        parts.append(f"between {lo // 60:02d}:{lo % 60:02d} and {hi // 60:02d}:{hi % 60:02d} "
                     f"({pace.tz.key})")
    return ", ".join(parts)
