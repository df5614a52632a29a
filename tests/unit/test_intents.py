"""Typed phrases and buttons map to the right deterministic step."""

import pytest

from agent.intents import Intent, button, normalise, parse_callback, parse_text


@pytest.mark.parametrize(
    "text",
    [
        "ship it",
        "Ship it",
        "SHIP IT",
        "ship it!",
        "Ship it!!!",
        "  ship   it. ",
        "shipit",
        "/ship",
        "ship it 🚀",
        "/ship@shipit_bot",
    ],
)
def test_ship_in_any_case_and_punctuation(text):
    assert parse_text(text).intent is Intent.SHIP


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("undo", Intent.UNDO),
        ("Undo!", Intent.UNDO),
        ("roll back", Intent.UNDO),
        ("discard", Intent.DISCARD),
        ("Discard it.", Intent.DISCARD),
        ("/start", Intent.START),
        ("help", Intent.HELP),
        ("/status", Intent.STATUS),
        ("stop", Intent.STOP),
    ],
)
def test_fixed_phrases(text, intent):
    assert parse_text(text).intent is intent


@pytest.mark.parametrize(
    "text",
    [
        "ship it but make it blue first",
        "make the offset field bigger",
        "undo the colour change and make it red",
    ],
)
def test_anything_else_is_a_request_kept_verbatim(text):
    parsed = parse_text(text)
    assert parsed.intent is Intent.REQUEST
    assert parsed.text == text


def test_buttons_round_trip_with_preview_id():
    data = button(Intent.SHIP, "20261122-160455-a3f9")
    assert len(data.encode()) <= 64
    parsed = parse_callback(data)
    assert parsed.intent is Intent.SHIP and parsed.preview_id == "20261122-160455-a3f9"


def test_unknown_button_data_becomes_help():
    assert parse_callback("format-c:").intent is Intent.HELP
    assert parse_callback("").intent is Intent.HELP


def test_normalise():
    assert normalise("  Ship   It!! ") == "ship it"
