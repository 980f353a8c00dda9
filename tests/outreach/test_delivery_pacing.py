"""Pacing from the database: daily cap, per-domain cap, spacing and the sending window in
the campaign's time zone (the dispatcher's decisions, at chosen moments)."""

from __future__ import annotations

from datetime import datetime, timedelta

import authoring_support as f
import pytest
from deliveryhelpers import approved_message
from sqlalchemy import select

from app.extensions import db
from app.models import Campaign, Outreach, OutreachStatus, Run
from app.outreach import pacing, window

OS = OutreachStatus
# 15 January 2026, 15:00 UTC = 10:00 in New York (UTC-5 in winter)
NOON_ISH = datetime(2026, 1, 15, 15, 0, 0)


@pytest.fixture
def camp(app):
    f.agency()
    c = f.campaign("paced")
    db.session.commit()
    return c


def _approve(camp: Campaign, n: int, domain: str | None = None) -> list[int]:
    ids = []
    for i in range(n):
        d = domain or f"shop{i}.example"
        o = approved_message(name=f"Shop {d} {i}", email=f"o{i}@{d}", camp=camp)
        ids.append(o.id)
    return ids


def _dispatch(camp: Campaign, now: datetime) -> list[tuple[int, float]]:
    planned = pacing.dispatch_campaign(camp.id, now)
    db.session.commit()
    return planned


def _queued() -> list[Outreach]:
    return list(db.session.scalars(select(Outreach).where(Outreach.status == OS.QUEUED)
                                   .order_by(Outreach.slot_at)))


def test_the_window_is_in_the_campaign_time_zone(camp):
    camp.timezone = "America/New_York"
    camp.send_window_start, camp.send_window_end = 9 * 60, 17 * 60
    db.session.commit()
    _approve(camp, 2)
    assert _dispatch(camp, NOON_ISH - timedelta(hours=2)) == []  # 08:00 in New York
    assert _dispatch(camp, NOON_ISH + timedelta(hours=7)) == []  # 17:00: closed
    assert len(_dispatch(camp, NOON_ISH)) == 2  # 10:00
    assert "between 09:00 and 17:00 (America/New_York)" in window.describe(window.pace_of(camp))


def test_spacing_gives_later_slots_and_delayed_runs(camp):
    camp.min_spacing_seconds = 120
    db.session.commit()
    _approve(camp, 3)
    planned = _dispatch(camp, NOON_ISH)
    assert [round(d) for _, d in planned] == [0, 120, 240]
    slots = [o.slot_at for o in _queued()]
    assert slots == [NOON_ISH, NOON_ISH + timedelta(seconds=120),
                     NOON_ISH + timedelta(seconds=240)]
    later = db.session.get(Run, planned[2][0])
    assert later.not_before == NOON_ISH + timedelta(seconds=240)
    # a new approval a minute later waits for the spacing after the last slot
    _approve(camp, 1, "late.example")
    (_, delay), = _dispatch(camp, NOON_ISH + timedelta(seconds=60))
    assert round(delay) == 300


def test_spacing_beyond_the_horizon_waits_for_a_later_dispatch(camp):
    camp.min_spacing_seconds = 600  # 10 minutes; slots are given 15 minutes ahead
    db.session.commit()
    _approve(camp, 4)
    assert len(_dispatch(camp, NOON_ISH)) == 2
    assert len(_dispatch(camp, NOON_ISH + timedelta(minutes=10))) == 1


def test_daily_cap_holds_across_dispatches_and_resets_next_local_day(camp):
    camp.daily_cap = 2
    camp.timezone = "Europe/Lisbon"
    db.session.commit()
    _approve(camp, 3)
    assert len(_dispatch(camp, NOON_ISH)) == 2
    # a restart, another dispatcher: the count comes from the database
    assert _dispatch(camp, NOON_ISH + timedelta(minutes=1)) == []
    assert len(_dispatch(camp, NOON_ISH + timedelta(days=1))) == 1


def test_per_domain_cap_skips_to_other_domains(camp):
    camp.domain_daily_cap = 1
    db.session.commit()
    same = _approve(camp, 2, "same.example")
    other = _approve(camp, 1, "other.example")
    _dispatch(camp, NOON_ISH)
    assert {o.id for o in _queued()} == {same[0], other[0]}


def test_paused_campaigns_and_sending_off_dispatch_nothing(app, camp):
    _approve(camp, 1)
    camp.paused_at = NOON_ISH
    db.session.commit()
    assert _dispatch(camp, NOON_ISH) == []
    camp.paused_at = None
    db.session.commit()
    assert app.config["SMTP_HOST"] is None
    assert pacing.dispatch(NOON_ISH) == {"campaigns": 0, "queued": 0}
    assert _queued() == []
