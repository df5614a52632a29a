"""Owner reports and spend, the pure parts: diff links, digest days, totals, the cap."""

from __future__ import annotations

import calendar

from agent.owner import Event, diff_url, digest_lines
from agent.spend import Cost, over_cap, requests_in_month, total, usd

DAY = 86400
NOON = calendar.timegm((2026, 12, 15, 12, 0, 0))


def test_diff_links_for_known_hosts_only():
    a, b = "a" * 40, "b" * 40
    assert diff_url("git@github.com:pipe/offset.git", a, b) == (
        f"https://github.com/pipe/offset/compare/{a}...{b}"
    )
    assert diff_url("https://github.com/pipe/offset", None, b) == (
        f"https://github.com/pipe/offset/commit/{b}"
    )
    assert diff_url("ssh://git@gitlab.com/team/app.git", a, b) == (
        f"https://gitlab.com/team/app/-/compare/{a}...{b}"
    )
    assert diff_url("/srv/git/app.git", a, b) is None
    assert diff_url("git@example.com:team/app.git", a, b) is None


def test_digest_covers_finished_days_with_a_ship_once():
    events = [
        Event(NOON - 2 * DAY, "failed", "Sam", "x"),  # a day with no ship: no digest
        Event(NOON - DAY, "shipped", "Sam", "bigger field"),
        Event(NOON - DAY + 60, "undone", "Ana", "bigger field"),
        Event(NOON, "shipped", "Sam", "today's change"),  # today is not over
    ]
    days = digest_lines(events, "2026-12-12", "2026-12-15")
    assert list(days) == ["2026-12-14"]
    assert [e.kind for e in days["2026-12-14"]] == ["shipped", "undone"]
    assert digest_lines(events, "2026-12-14", "2026-12-15") == {}


def test_totals_by_utc_day_and_month_and_the_cap():
    costs = [
        Cost(NOON, 0.30, "a", chat_id=1),
        Cost(NOON + 60, 0.20, "a", chat_id=1),  # a fix round of the same request
        Cost(NOON - DAY, 1.00, "b", chat_id=2),
        Cost(NOON - 40 * DAY, 5.00, "c", chat_id=1),  # last month
    ]
    assert round(total(costs, NOON, "day"), 2) == 0.50
    assert round(total(costs, NOON, "month"), 2) == 1.50
    assert requests_in_month(costs, NOON) == 2
    assert over_cap(costs, NOON, 0.5) and not over_cap(costs, NOON, 0.51)
    assert not over_cap(costs, NOON, 0)  # 0 means no cap
    assert usd(1234.5) == "$1,234.50" and usd(0.004) == "under $0.01" and usd(0) == "$0.00"
