"""The daily spend cap in front of every request, and the /cost answer."""

from __future__ import annotations

import time

from agent import owner, spend
from agent.context import blocking
from agent.messages import Raw, render


async def under_cap(deps, state) -> bool:
    """Past today's cap no new request starts: the requester is told plainly, the owner too."""
    cap = deps.settings.daily_cap_usd
    if cap <= 0:
        return True
    costs, now = await blocking(spend.everything, deps.store), time.time()
    if not spend.over_cap(costs, now, cap):
        return True
    await deps.chat.send(state.chat_id, render("daily_cap", cap=spend.usd(cap)))
    await owner.cap_reached(deps, state, spend.total(costs, now, "day"), cap)
    return False


def cost_message(deps) -> str:
    """/cost: this month's and today's model spend, and the daily cap if there is one."""
    costs, now = spend.everything(deps.store), time.time()
    cap = deps.settings.daily_cap_usd
    return render(
        "cost",
        month=spend.usd(spend.total(costs, now, "month")),
        requests=spend.requests_in_month(costs, now),
        today=spend.usd(spend.total(costs, now, "day")),
        cap=Raw(render("cost_cap", cap=spend.usd(cap))) if cap > 0 else "",
    )
