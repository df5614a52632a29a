"""History listing and plain-words times (pure), and the new intents."""

from __future__ import annotations

from agent.history import SHOWN, Entry, listing, when
from agent.intents import Intent, parse_callback, parse_text

NOW = 1_800_000_000.0


def test_when_in_plain_words():
    assert when(NOW - 5, NOW) == "just now"
    assert when(NOW - 300, NOW) == "5 min ago"
    assert when(NOW - 3 * 3600, NOW) == "3 h ago"
    assert when(NOW - 3 * 86400, NOW) == "12 Jan 2027"


def test_listing_is_newest_first_marks_live_and_offers_the_others():
    entries = [
        Entry("base-1", "c0", NOW - 7200, "the version before Shipit"),
        Entry("b1", "c1", NOW - 3600, "make the offset field bigger", by="Sam"),
        Entry("b2", "c2", NOW - 60, "turn the page <yellow>", by="Ana"),
    ]
    text, buttons = listing(entries, "b1", NOW)
    lines = text.splitlines()
    assert "turn the page &lt;yellow&gt;" in lines[1] and "Ana" in lines[1]  # escaped, newest
    assert "make the offset field bigger" in lines[2] and "live now" in lines[2]
    assert "live now" not in lines[1] and "live now" not in lines[3]
    assert buttons == [
        ("↩️ Put #1 live again", "restore:b2", "primary"),
        ("↩️ Put #3 live again", "restore:base-1", "primary"),
    ]


def test_listing_caps_and_empties():
    many = [Entry(f"b{i}", "c", NOW - i, f"change {i}") for i in range(20)]
    text, buttons = listing(many, None, NOW)
    assert len(buttons) == SHOWN
    assert "Nothing has gone live" in listing([], None, NOW)[0]


def test_history_cost_and_restore_intents():
    for phrase in ("/history", "What changed?", "what changed", "history"):
        assert parse_text(phrase).intent is Intent.HISTORY, phrase
    assert parse_text("/cost").intent is Intent.COST
    assert parse_text("how much did it cost?").intent is Intent.REQUEST  # not a fixed phrase
    restore = parse_callback("restore:20261201-101010-abcd")
    assert restore.intent is Intent.RESTORE and restore.preview_id == "20261201-101010-abcd"
    assert parse_callback("undo:b7") == parse_callback("undo:b7")
    assert parse_callback("undo:b7").preview_id == "b7"
