"""The Stop button on the status card ends a running request; nothing is published."""

from __future__ import annotations

import threading

from local.origin import origin_head
from local.scripted_claude import say
from tests.e2e.conftest import USER, Script, edit_session, published_previews


def test_stop_ends_the_request_and_publishes_nothing(start_stack):
    entered, release = threading.Event(), threading.Event()

    def slow_model(_request):
        entered.set()
        release.wait(60)  # holds this model turn open until the test lets go
        return say("too late")

    script = Script([slow_model])
    stack = start_stack(script)
    tg = stack.telegram.client()
    main_before = origin_head(stack.origin)
    try:
        tg.send_text(USER, "make the offset field bigger")
        assert entered.wait(60), "the model was never called"
        card = tg.wait_for_text(USER, "Working on", timeout=30)
        tg.press_button(USER, card["message_id"], text="⏹ Stop")
        tg.wait_for_text(USER, "Stopped. Nothing was published", timeout=30)
    finally:
        release.set()
    card = next(m for m in tg.messages(USER) if m["message_id"] == card["message_id"])
    assert card["text"].startswith("⏹ Stopped")  # stopped is not failed: no ❌ anywhere on it
    assert "❌" not in card["text"] and card["buttons"] == []

    assert published_previews(stack) == []
    assert origin_head(stack.origin) == main_before

    # The chat is free again: the next request runs to a preview.
    script.extend(edit_session("  font-size: 1rem;", "  font-size: 1.5rem;"))
    tg.send_text(USER, "make the offset field bigger")
    tg.wait_for_text(USER, "Your preview is ready", timeout=90)
    assert "restarted" not in tg.transcript(USER)


def test_a_request_cut_off_by_a_restart_is_reported_not_lost(start_stack):
    entered, release = threading.Event(), threading.Event()

    def hanging_model(_request):
        entered.set()
        release.wait(60)
        return say("never seen")

    stack = start_stack(Script([hanging_model]))
    tg = stack.telegram.client()
    try:
        tg.send_text(USER, "make the offset field bigger")
        assert entered.wait(60), "the model was never called"
        stack.restart_agent()  # the container goes away mid-request
    finally:
        release.set()
    tg.send_text(USER, "status")
    # The new process closes the cut-off request out at its first invocation (agent/recovery.py).
    notice = tg.wait_for_text(USER, "I was interrupted while working on", timeout=30)
    assert "make the offset field bigger" in notice["text"]
    assert "Nothing live has changed" in notice["text"]
    tg.wait_for_text(USER, "Waiting for you:", timeout=30)
    told = [m for m in tg.bot_messages(USER) if "interrupted while working" in m["text"]]
    assert len(told) == 1
