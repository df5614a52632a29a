"""The inbox's ordering rules, without I/O: keys sort in Telegram's order; only a chat's own."""

from __future__ import annotations

from agent.inbox import belongs, due_keys
from relay.handler import inbox_key, received_ms


def test_keys_sort_by_receive_time_then_update_id():
    keys = [
        inbox_key(-1001, 1_700_000_000_500, 7),
        inbox_key(-1001, 1_700_000_000_010, 900),
        inbox_key(-1001, 1_700_000_000_010, 12),
        inbox_key(-1001, 999, 1),  # fewer digits still sorts as the smaller number
    ]
    assert sorted(keys) == [keys[3], keys[2], keys[1], keys[0]]


def test_due_are_the_entries_up_to_the_delivered_one_oldest_first():
    a, b, c = (inbox_key(5, t, t) for t in (100, 200, 300))
    assert due_keys([c, a, b], b) == [a, b]
    assert due_keys([c], b) == []  # a later entry waits for its own delivery
    assert due_keys([], a) == []


def test_a_key_belongs_to_its_chat_only():
    key = inbox_key(42, 100, 1)
    assert belongs(42, key)
    assert not belongs(4, key)  # "4" is a prefix of "42" but not of "42/"
    assert not belongs(420, key)
    assert not belongs(42, "42/../43/x.json")
    assert not belongs(42, None) and not belongs(42, 7)


def test_received_time_is_api_gateways_when_present():
    assert (
        received_ms({"requestContext": {"timeEpoch": 1_700_000_000_123}}, 5.0) == 1_700_000_000_123
    )
    assert received_ms({"requestContext": {"timeEpoch": "soon"}}, 5.0) == 5000
    assert received_ms({}, 5.25) == 5250
