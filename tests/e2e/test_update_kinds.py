"""Every update kind gets the right answer or deliberate silence, through the whole stack."""

from __future__ import annotations

import pytest

from local.scripted_claude import say
from tests.e2e.conftest import USER, Script, bot_texts


@pytest.fixture
def chat(start_stack):
    stack = start_stack(Script([], tail=say("What colour would you like?")))
    tg = stack.telegram.client()
    tg.send_text(USER, "/start")
    tg.wait_for_text(USER, "I can change", timeout=30)
    return stack, tg


def answer_to(tg, kind: str, obj: dict, contains: str) -> dict:
    tg.send_update(USER, kind, obj)
    return tg.wait_for_text(USER, contains, timeout=30)


def test_an_edited_message_is_answered_from_the_original(chat):
    stack, tg = chat
    sent = tg.send_text(USER, "help")["message"]
    tg.wait_for_text(USER, "Tell me in your own words", timeout=30)
    edit = {"message_id": sent["message_id"], "text": "make it red", "edit_date": 1}
    answer_to(tg, "edited_message", edit, "I work from your original message")
    assert stack.model.requests == []  # the edit started nothing


def test_blocked_and_unblocked_are_silent_and_nothing_after_is_lost(chat):
    _stack, tg = chat
    before = len(tg.bot_messages(USER))
    for old, new in (("member", "kicked"), ("kicked", "member")):
        member = {
            "old_chat_member": {
                "status": old,
                "user": {"id": 1, "is_bot": True, "first_name": "S"},
            },
            "new_chat_member": {
                "status": new,
                "user": {"id": 1, "is_bot": True, "first_name": "S"},
            },
        }
        tg.send_update(USER, "my_chat_member", member)
    tg.send_text(USER, "help")  # a sync point: answered after the two membership updates
    tg.wait_for_text(USER, "Tell me in your own words", timeout=30)
    assert len(tg.bot_messages(USER)) == before + 1


def test_a_forwarded_text_is_a_request_and_said_so(chat):
    stack, tg = chat
    origin = {"type": "hidden_user", "sender_user_name": "Kim", "date": 1}
    # Even a forwarded "ship it" is somebody else's words: a request, never a command.
    answer_to(tg, "message", {"message_id": 50, "text": "ship it", "forward_origin": origin},
              "treating it as a change request")  # fmt: skip
    tg.wait_for_text(USER, "What colour would you like?", timeout=60)
    assert "ship it" in str(stack.model.requests[-1]["messages"])


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("voice", {"file_id": "v", "file_unique_id": "v", "duration": 1}, "voice message"),
        ("document", {"file_id": "d", "file_unique_id": "d"}, "file"),
        ("sticker", {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 1,
                     "height": 1, "is_animated": False, "is_video": False}, "sticker"),
        ("location", {"latitude": 52.5, "longitude": 13.4}, "location"),
    ],
)  # fmt: skip
def test_media_gets_a_plain_answer(chat, field, value, words):
    stack, tg = chat
    answer_to(tg, "message", {"message_id": 60, field: value}, f"I can't use a {words} yet")
    assert stack.model.requests == []


def test_a_group_chat_gets_a_clear_refusal(start_stack):
    group = -100123
    stack = start_stack(Script([]))
    tg = stack.telegram.client()
    tg.send_text(USER, "hi")  # the person exists; now they write in a group with the bot
    tg.send_update(
        group,
        "message",
        {"message_id": 1, "text": "make it red", "from": {"id": USER, "is_bot": False,
         "first_name": "Ada"}, "chat": {"id": group, "type": "group", "title": "Team"}},
    )  # fmt: skip
    refusal = tg.wait_for_text(group, "I only work in a private chat", timeout=30)
    assert "message me directly" in refusal["text"]
    assert stack.model.requests == []


@pytest.mark.parametrize("text", [123, None, ["ship it"], {"a": 1}])
def test_a_text_that_is_not_a_string_gets_a_reply_not_a_traceback(chat, text):
    stack, tg = chat
    answer_to(tg, "message", {"message_id": 70, "text": text}, "I couldn't read that message")
    assert "Traceback" not in (stack.root / "agent.log").read_text()


def test_unknown_button_data_gets_a_reply(chat):
    _stack, tg = chat
    start = tg.bot_messages(USER)[-1]
    query = {
        "id": "cb-1",
        "from": {"id": USER, "is_bot": False, "first_name": "Ada"},
        "chat_instance": "x",
        "data": "format-c:everything",
        "message": {"message_id": start["message_id"], "date": 1,
                    "chat": {"id": USER, "type": "private"}},
    }  # fmt: skip
    tg.send_update(USER, "callback_query", query)
    tg.wait_for_text(USER, "That button doesn't do anything any more", timeout=30)
    assert sum("doesn't do anything" in t for t in bot_texts(tg, USER)) == 1


def test_an_update_that_breaks_on_our_side_still_gets_an_honest_reply(chat):
    stack, tg = chat
    # The chat's saved state is damaged (a half-written disk, a bad migration…).
    (stack.workspace / "chats" / str(USER) / "state.json").write_text("{not json")
    tg.send_text(USER, "status")
    sorry = tg.wait_for_text(USER, "Something went wrong on my side", timeout=30)
    assert "Nothing live has changed" in sorry["text"]
