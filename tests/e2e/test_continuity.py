"""Conversations and pending previews survive a restart of the agent process."""

from __future__ import annotations

import json

import httpx

from local.origin import origin_file, origin_head
from local.scripted_claude import say
from tests.e2e.conftest import USER, Script, edit_session, git, links


def test_follow_up_resumes_the_conversation_across_a_restart(start_stack):
    script = Script(
        edit_session("  font-size: 1rem;", "  font-size: 1.5rem;", answer="Offset field is bigger.")
    )
    stack = start_stack(script)
    tg = stack.telegram.client()

    tg.send_text(USER, "make the offset field bigger")
    first = tg.wait_for_text(USER, "Your preview is ready", timeout=90)
    session_before = stack.model.requests[-1]["metadata"]

    stack.restart_agent()

    # The follow-up builds on the pending preview, in the same Claude conversation.
    script.extend(edit_session("  width: 8rem;", "  width: 12rem;", answer="And wider."))
    tg.send_text(USER, "also make it wider")
    second = tg.wait_for(
        USER, lambda ms: [m for m in ms if m["from_bot"] and "And wider." in m["text"]], timeout=90
    )[-1]
    follow_up = next(r for r in stack.model.requests if "also make it wider" in str(r["messages"]))
    transcript = str(follow_up["messages"])
    assert "make the offset field bigger" in transcript  # the first request is in the history
    assert "Offset field is bigger." in transcript  # and so is Claude's own answer
    # Same session id, resumed (the device id differs: each run's config folder is fresh).
    assert session_of(follow_up["metadata"]) == session_of(session_before)

    # The new preview has both changes; the older preview's buttons are gone.
    url = links(second)[0]
    css = httpx.get(url + "style.css").text
    assert "font-size: 1.5rem" in css and "width: 12rem" in css
    first_now = next(m for m in tg.messages(USER) if m["message_id"] == first["message_id"])
    assert first_now["buttons"] == []

    # Shipping after the restart ships the newest preview, with both changes.
    tg.send_text(USER, "ship it")
    tg.wait_for_text(USER, "It's live", timeout=60)
    assert "width: 12rem" in origin_file(stack.origin, "src/style.css")
    clone = stack.workspace / "chats" / str(USER) / "repo"
    assert origin_head(stack.origin) == git(
        clone, "rev-parse", f"preview/{url.rstrip('/').rsplit('/', 1)[-1]}"
    )


def test_undo_takes_production_back_and_reverts_main(start_stack):
    script = Script(edit_session("  font-size: 1rem;", "  font-size: 2rem;"))
    stack = start_stack(script)
    tg = stack.telegram.client()
    original_css = origin_file(stack.origin, "src/style.css")

    tg.send_text(USER, "make the offset field huge")
    tg.wait_for_text(USER, "Your preview is ready", timeout=90)
    tg.send_text(USER, "Ship it")
    live = tg.wait_for_text(USER, "It's live", timeout=60)
    production = links(live)[0]
    assert "font-size: 2rem" in httpx.get(production + "style.css").text

    tg.send_text(USER, "undo")
    tg.wait_for_text(USER, "the live app is back", timeout=60)
    assert "font-size: 2rem" not in httpx.get(production + "style.css").text
    assert origin_file(stack.origin, "src/style.css") == original_css
    log = git(stack.origin, "log", "--format=%s", "main")
    assert log.splitlines()[0].startswith("Undo:")

    tg.send_text(USER, "undo")
    tg.wait_for_text(USER, "no earlier version", timeout=30)


def test_discard_drops_the_preview(start_stack):
    script = Script(edit_session("  font-size: 1rem;", "  font-size: 3rem;"), tail=say("Done."))
    stack = start_stack(script)
    tg = stack.telegram.client()
    tg.send_text(USER, "make the offset field bigger")
    preview = tg.wait_for_text(USER, "Your preview is ready", timeout=90)
    tg.press_button(USER, preview["message_id"], text="🗑 Discard")
    tg.wait_for_text(USER, "Dropped that preview", timeout=30)
    tg.send_text(USER, "ship it")
    tg.wait_for_text(USER, "nothing waiting to go live", timeout=30)


def session_of(metadata: dict) -> str:
    return json.loads(metadata["user_id"])["session_id"]
