"""While a preview waits, a short yes confirms with the Ship it button and a short no asks what
to change; neither starts a new job."""

from __future__ import annotations

import pytest

from local.origin import origin_head
from tests.e2e.conftest import USER, Script, bot_texts, edit_session, git, links

BIGGER = ("  font-size: 1rem;", "  font-size: 1.5rem;")


@pytest.fixture
def previewed(start_stack):
    stack = start_stack(Script(edit_session(*BIGGER)))
    tg = stack.telegram.client()
    tg.send_text(USER, "make the offset field bigger")
    preview = tg.wait_for_text(USER, "Your preview is ready", timeout=90)
    return stack, tg, preview


@pytest.mark.parametrize("answer", ["yes", "👍", "Looks good!"])
def test_a_short_yes_offers_ship_it_and_starts_nothing(previewed, answer):
    stack, tg, preview = previewed
    calls, main = len(stack.model.requests), origin_head(stack.origin)

    tg.send_text(USER, answer)
    confirm = tg.wait_for_text(USER, "Shall I put", timeout=15)

    assert [b["text"] for row in confirm["buttons"] for b in row] == ["🚀 Ship it"]
    assert len(stack.model.requests) == calls  # no new job for the model
    assert origin_head(stack.origin) == main  # and nothing shipped without the tap
    assert not any("Working on" in t for t in bot_texts(tg, USER)[-2:])

    tg.press_button(USER, confirm["message_id"], text="🚀 Ship it")
    tg.wait_for_text(USER, "It's live", timeout=60)
    clone = stack.workspace / "chats" / str(USER) / "repo"
    build_id = links(preview)[0].rstrip("/").rsplit("/", 1)[-1]
    assert origin_head(stack.origin) == git(clone, "rev-parse", f"preview/{build_id}")


def test_a_short_no_asks_what_to_change(previewed):
    stack, tg, _preview = previewed
    calls = len(stack.model.requests)
    tg.send_text(USER, "no, not like that")
    ask = tg.wait_for_text(USER, "What would you like me to change", timeout=15)
    assert [b["text"] for row in ask["buttons"] for b in row] == ["🗑 Discard"]
    assert len(stack.model.requests) == calls
