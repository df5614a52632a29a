"""Typed phrases and buttons map to the right deterministic step."""

import pytest

from agent.intents import (
    AFFIRMATIVES,
    NEGATIVES,
    Intent,
    button,
    normalise,
    parse_callback,
    parse_reply,
    parse_text,
    short_answer,
)


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


def test_unknown_or_forged_button_data_is_unknown_and_still_answered():
    for data in ("format-c:", "", "request:x", "affirm:1", None, 42):
        assert parse_callback(data).intent is Intent.UNKNOWN


def test_redo_button_round_trips():
    parsed = parse_callback(button(Intent.REDO, "p1"))
    assert parsed.intent is Intent.REDO and parsed.preview_id == "p1"


def test_context_intents_have_no_slash_command():
    for word in ("/affirm", "/negate", "/redo", "/unknown"):
        assert parse_text(word).intent is Intent.REQUEST


def test_normalise():
    assert normalise("  Ship   It!! ") == "ship it"


@pytest.mark.parametrize(
    "text",
    ["yes", "Yes!", "ok", "OK", "okay", "👍", "👍🏽", "👍🏿", "looks good", "Looks good!!",
     "perfect", "great", "sure", "yep", "✅", "yes, perfect", "ok 👍", "LGTM", "sí", "oui",
     "ja", "да", "はい", "❤️", "thanks!"],
)  # fmt: skip
def test_short_affirmatives_confirm_a_waiting_preview(text):
    assert short_answer(text) is Intent.AFFIRM
    assert parse_reply(text, preview_waiting=True).intent is Intent.AFFIRM


@pytest.mark.parametrize(
    "text", ["no", "No.", "nope", "not like that", "Not like that!", "👎", "no, not like that",
             "nein", "нет"],
)  # fmt: skip
def test_short_negatives_ask_what_to_change(text):
    assert short_answer(text) is Intent.NEGATE
    assert parse_reply(text, preview_waiting=True).intent is Intent.NEGATE


@pytest.mark.parametrize(
    "text",
    ["yes but make it red", "ok make the button blue", "no red, use green",
     "perfect, now make it wider", "make it bigger", "not sure what this does, can you explain?"],
)  # fmt: skip
def test_anything_longer_is_still_a_request(text):
    assert short_answer(text) is None
    assert parse_reply(text, preview_waiting=True).intent is Intent.REQUEST


def test_yes_and_no_mean_nothing_special_without_a_preview():
    assert parse_reply("yes", preview_waiting=False).intent is Intent.REQUEST
    assert parse_reply("no", preview_waiting=False).intent is Intent.REQUEST


def test_fixed_phrases_win_over_the_tables():
    assert parse_reply("ship it", preview_waiting=True).intent is Intent.SHIP
    assert parse_reply("stop", preview_waiting=True).intent is Intent.STOP


def test_the_tables_do_not_overlap():
    assert not AFFIRMATIVES & NEGATIVES
