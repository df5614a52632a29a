"""Model spend: each Claude run's cost recorded per chat, totals for /cost, and the daily cap.

Each chat writes only its own file (chats/<id>/spend.json; one writer per chat, as everywhere
on the NFS workspace); the app's totals read every chat's file. Days and months are UTC.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from agent.state import StateStore, write_json_atomic

KEEP_S = 400 * 86400  # a little over a year: this month and last year's same month


@dataclass
class Cost:
    """One Claude run: when, for which request, by whom, and what it cost."""

    at: float
    usd: float
    request: str
    by: str = ""
    chat_id: int = 0


def _path(store: StateStore, chat_id: int) -> Path:
    return store.chat_dir(chat_id) / "spend.json"


def _read(path: Path) -> list[Cost]:
    if not path.exists():
        return []
    return [Cost(**c) for c in json.loads(path.read_text(encoding="utf-8"))]


def record(store: StateStore, chat_id: int, usd: float, request: str, by: str = "") -> None:
    now = time.time()
    path = _path(store, chat_id)
    costs = [c for c in _read(path) if now - c.at < KEEP_S]
    costs.append(Cost(now, round(float(usd or 0.0), 6), request[:200], by, chat_id))
    write_json_atomic(path, [asdict(c) for c in costs])


def everything(store: StateStore) -> list[Cost]:
    """Every chat's recorded runs (the app's spend)."""
    chats = store.workspace / "chats"
    if not chats.is_dir():
        return []
    return [c for d in sorted(chats.iterdir()) for c in _read(d / "spend.json")]


def day_of(at: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(at))


def total(costs: list[Cost], now: float, period: str) -> float:
    """Sum over the UTC day ("day") or month ("month") that `now` falls in (pure)."""
    fmt = "%Y-%m-%d" if period == "day" else "%Y-%m"
    key = time.strftime(fmt, time.gmtime(now))
    return sum(c.usd for c in costs if time.strftime(fmt, time.gmtime(c.at)) == key)


def requests_in_month(costs: list[Cost], now: float) -> int:
    month = time.strftime("%Y-%m", time.gmtime(now))
    return len(
        {
            (c.chat_id, c.request)
            for c in costs
            if time.strftime("%Y-%m", time.gmtime(c.at)) == month
        }
    )


def over_cap(costs: list[Cost], now: float, cap_usd: float) -> bool:
    """True when today's spend has reached a positive cap (0 means no cap)."""
    return cap_usd > 0 and total(costs, now, "day") >= cap_usd


def usd(amount: float) -> str:
    """Dollars the way people read them: $0.42, and small amounts not shown as $0.00."""
    if 0 < amount < 0.01:
        return "under $0.01"
    return f"${amount:,.2f}"
