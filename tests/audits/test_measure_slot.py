"""Issue 8 §2: page loads are measured one at a time on the engine (``MeasureSlot``), so
paint timings are not inflated by our own other audits; every wait and hold is bounded."""

from __future__ import annotations

import asyncio

from app.audits.engine.pipeline import MeasureSlot


def _run(coro):
    return asyncio.run(coro)


def test_loads_take_turns_and_work_waits_for_a_load():
    async def scenario():
        slot, events = MeasureSlot(wait=5, hold=5), []

        async def load(name, seconds):
            async with slot.load() as use:
                events.append(f"{name} start")
                await asyncio.sleep(seconds)
                events.append(f"{name} end")
            return use.alone

        async def work(name):
            await asyncio.sleep(0.01)  # asks while load "a" runs
            async with slot.work():
                events.append(f"{name} work")

        alone = await asyncio.gather(load("a", 0.1), load("b", 0.1), work("w"))
        return events, alone[:2]

    events, alone = _run(scenario())
    assert events[:2] == ["a start", "a end"]
    # "b" waited for "a"; the work waited until no load ran or waited.
    assert events.index("w work") > events.index("b end")
    assert alone == [True, True]


def test_a_load_waits_for_running_work_then_has_the_cpu_to_itself():
    async def scenario():
        slot, events = MeasureSlot(wait=5, hold=5), []

        async def work():
            async with slot.work():
                events.append("work start")
                await asyncio.sleep(0.1)
                events.append("work end")

        async def load():
            await asyncio.sleep(0.01)
            async with slot.load():
                events.append("load")

        await asyncio.gather(work(), load())
        return events

    assert _run(scenario()) == ["work start", "work end", "load"]


def test_holding_and_waiting_are_bounded():
    async def scenario():
        slot = MeasureSlot(wait=0.3, hold=0.1)
        loop = asyncio.get_running_loop()

        async def slow_load():
            async with slot.load() as use:
                await asyncio.sleep(0.5)  # a slow site: the slot is released at `hold`
            return use.alone

        async def other_load():
            await asyncio.sleep(0.02)
            t = loop.time()
            async with slot.load() as use:
                waited = loop.time() - t
            return use.alone, waited

        async def stuck_work():
            await asyncio.sleep(0.3)
            t = loop.time()
            async with slot.work():
                return loop.time() - t

        return await asyncio.gather(slow_load(), other_load(), stuck_work())

    slow_alone, (other_alone, waited), work_waited = _run(scenario())
    assert slow_alone is False  # it outlived its hold: not measured alone
    assert waited < 0.3 and other_alone is True
    assert work_waited < 0.1
