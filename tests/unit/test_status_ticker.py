"""The status card's clock keeps moving during long work, and stops with the work."""

import asyncio

from agent import journey


class CountingCard:
    def __init__(self, wanted: int) -> None:
        self.refreshes = 0
        self.enough = asyncio.Event()
        self.wanted = wanted

    async def refresh(self, force: bool = False) -> None:
        self.refreshes += 1
        if self.refreshes >= self.wanted:
            self.enough.set()


async def test_ticking_refreshes_until_the_block_ends(monkeypatch):
    monkeypatch.setattr(journey, "TICK_S", 0.01)
    card = CountingCard(wanted=3)
    async with journey._ticking(card):
        await asyncio.wait_for(card.enough.wait(), 5)
    stopped_at = card.refreshes
    other = CountingCard(wanted=2)
    async with journey._ticking(other):  # a later block ticks; the finished one does not
        await asyncio.wait_for(other.enough.wait(), 5)
    assert card.refreshes == stopped_at
