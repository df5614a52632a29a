"""Every update kind is classified from raw JSON without trusting a field's type."""

import pytest

from agent.updates import Kind, classify

CHAT = {"id": 5, "type": "private", "first_name": "Sam"}
USER = {"id": 5, "is_bot": False, "first_name": "Sam"}


def message(**fields):
    return {"update_id": 1, "message": {"message_id": 9, "chat": CHAT, "from": USER, **fields}}


def test_text():
    incoming = classify(message(text="make it bigger"))
    assert incoming.kind is Kind.TEXT and incoming.text == "make it bigger"
    assert incoming.chat_id == 5 and not incoming.forwarded


def test_forwarded_text_is_text_marked_forwarded():
    origin = {"type": "user", "date": 1, "sender_user": {"id": 7, "is_bot": False}}
    incoming = classify(message(text="ship it", forward_origin=origin))
    assert incoming.kind is Kind.TEXT and incoming.forwarded


def test_button():
    query = {"id": "q1", "from": USER, "data": "ship:p1", "message": {"chat": CHAT}}
    incoming = classify({"update_id": 2, "callback_query": query})
    assert incoming.kind is Kind.BUTTON and incoming.callback_data == "ship:p1"
    assert incoming.callback_id == "q1"


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("photo", [{"file_id": "x"}], "photo"),
        ("voice", {"file_id": "x"}, "voice message"),
        ("document", {"file_id": "x"}, "file"),
        ("sticker", {"file_id": "x"}, "sticker"),
        ("location", {"latitude": 1, "longitude": 2}, "location"),
    ],
)
def test_media_kinds_are_named(field, value, words):
    incoming = classify(message(**{field: value}))
    assert incoming.kind is Kind.MEDIA and incoming.media == words


def test_edited_message():
    update = {"update_id": 3, "edited_message": {"chat": CHAT, "from": USER, "text": "x"}}
    assert classify(update).kind is Kind.EDITED


def test_blocked_or_unblocked_is_membership():
    update = {"update_id": 4, "my_chat_member": {"chat": CHAT, "from": USER}}
    assert classify(update).kind is Kind.MEMBERSHIP


@pytest.mark.parametrize("chat_type", ["group", "supergroup"])
def test_group_chats(chat_type):
    chat = {"id": -100, "type": chat_type, "title": "Team"}
    update = {"update_id": 5, "message": {"chat": chat, "from": USER, "text": "hi"}}
    incoming = classify(update)
    assert incoming.kind is Kind.GROUP and incoming.chat_id == -100


@pytest.mark.parametrize(
    "update",
    [
        message(text=123),
        message(text=None),
        message(text=["ship it"]),
        {"update_id": "7", "message": {"chat": CHAT, "text": "hi"}},
        {"update_id": 7, "callback_query": {"id": 5, "message": {"chat": CHAT}}},
    ],
)
def test_malformed_fields_in_a_known_chat(update):
    assert classify(update).kind is Kind.MALFORMED


@pytest.mark.parametrize(
    "update",
    [None, [], "x", {}, {"update_id": 1}, {"update_id": 1, "message": "x"},
     {"update_id": 1, "message": {"chat": {"id": "5"}, "text": "hi"}},
     {"update_id": 1, "channel_post": {"chat": CHAT, "text": "x"}},
     message(pinned_message={"message_id": 1})],
)  # fmt: skip
def test_nothing_to_answer(update):
    assert classify(update).kind is Kind.IGNORED


def test_unknown_content_still_gets_an_answer():
    assert classify(message(giveaway={"x": 1})).kind is Kind.MEDIA
