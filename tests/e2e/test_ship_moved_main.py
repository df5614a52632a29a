"""An approved change can always go live: when main moved since the preview, Shipit replays the
change on the new main, checks and builds it again and offers that; a clash offers a redo that
starts from the new main; two chats shipping at once both end up live."""

from __future__ import annotations

import threading

import httpx

from local.origin import origin_file, origin_head, push_change
from tests.e2e.conftest import (
    USER,
    PerChat,
    Script,
    bot_texts,
    edit_session,
    git,
    links,
    open_preview,
)

OTHER = 1002
BIGGER = ("  font-size: 1rem;", "  font-size: 1.5rem;")
ROUNDER = ("  border-radius: 6px;", "  border-radius: 14px;")
BACKGROUND = ("  background: #f4f4f0;", "  background: #fafaf5;")


def build_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def test_main_moved_since_the_preview_is_replayed_checked_and_offered_again(start_stack):
    stack = start_stack(Script(edit_session(*BIGGER)))
    tg = stack.telegram.client()
    tg.send_text(USER, "make the offset field bigger")
    first = tg.wait_for_text(USER, "Your preview is ready", timeout=90)

    moved = push_change(stack.origin, "src/style.css", *BACKGROUND, "Softer background")
    tg.press_button(USER, first["message_id"], text="🚀 Ship it")
    updated = tg.wait_for_text(USER, "This is the updated version", timeout=90)

    # Nothing went live; the new preview has both the other change and ours.
    assert origin_head(stack.origin) == moved
    url = links(updated)[0]
    css = open_preview(url + "style.css").text
    assert "font-size: 1.5rem" in css and "#fafaf5" in css
    assert "app changed while your preview was waiting" in updated["text"]
    assert "all 8 checks passed" in updated["text"]  # the checks ran again
    # The old preview says it was replaced: no link, no buttons.
    old = next(m for m in tg.messages(USER) if m["message_id"] == first["message_id"])
    assert "Replaced by a newer preview" in old["text"]
    assert old["buttons"] == [] and not links(old)
    # "Putting it live…" became the note about the update; it did not linger.
    assert not any(t.startswith("🚀 Putting it live") for t in bot_texts(tg, USER))

    # The old button is dead; the new one ships exactly the replayed commit.
    tg.press_button(USER, updated["message_id"], text="🚀 Ship it")
    tg.wait_for_text(USER, "It's live", timeout=60)
    clone = stack.workspace / "chats" / str(USER) / "repo"
    assert origin_head(stack.origin) == git(clone, "rev-parse", f"preview/{build_of(url)}")
    assert git(stack.origin, "merge-base", "--is-ancestor", moved, "main") == ""
    live = httpx.get(f"{stack.site.url}/style.css").text
    assert "font-size: 1.5rem" in live and "#fafaf5" in live


def test_a_clash_offers_a_redo_that_starts_from_the_new_main(start_stack):
    script = Script(edit_session(*BIGGER))
    stack = start_stack(script)
    tg = stack.telegram.client()
    tg.send_text(USER, "make the offset field bigger")
    first = tg.wait_for_text(USER, "Your preview is ready", timeout=90)

    # Someone else changed the very line the preview changed.
    moved = push_change(stack.origin, "src/style.css", *BIGGER[:1], "  font-size: 1.2rem;", "x")
    tg.send_text(USER, "ship it")
    clash = tg.wait_for_text(USER, "I couldn't put this live", timeout=60)
    assert "touched the same parts" in clash["text"]
    assert origin_head(stack.origin) == moved
    old = next(m for m in tg.messages(USER) if m["message_id"] == first["message_id"])
    assert old["buttons"] == [] and not links(old)

    # Redo: Claude makes the change again, on the new main (its version of the line).
    script.extend(edit_session("  font-size: 1.2rem;", "  font-size: 1.5rem;"))
    tg.press_button(USER, clash["message_id"], text="🔁 Redo it on the new version")
    redo = tg.wait_for_text(USER, "Your preview is ready", timeout=90)
    assert redo["message_id"] > clash["message_id"]
    assert "make the offset field bigger" in str(stack.model.requests[-1]["messages"])
    tg.press_button(USER, redo["message_id"], text="🚀 Ship it")
    tg.wait_for_text(USER, "It's live", timeout=60)  # no endless clash
    assert "font-size: 1.5rem" in origin_file(stack.origin, "src/style.css")
    assert git(stack.origin, "merge-base", "--is-ancestor", moved, "main") == ""


def test_two_chats_shipping_at_once_both_go_live(start_stack):
    scripts = {USER: Script(edit_session(*BIGGER)), OTHER: Script(edit_session(*ROUNDER))}
    stack = start_stack(PerChat(scripts), allowed_user_ids=(USER, OTHER))
    tg = stack.telegram.client()
    previews = {}
    for chat, words in ((USER, "make the offset field bigger"), (OTHER, "rounder buttons")):
        tg.send_text(chat, words)
    for chat in (USER, OTHER):
        previews[chat] = tg.wait_for_text(chat, "Your preview is ready", timeout=120)

    # Both tap Ship it at the same moment.
    taps = [
        threading.Thread(
            target=tg.press_button,
            args=(c, previews[c]["message_id"]),
            kwargs={"text": "🚀 Ship it"},
        )
        for c in (USER, OTHER)
    ]
    for t in taps:
        t.start()
    for t in taps:
        t.join()

    def outcome(chat):
        return tg.wait_for(
            chat,
            lambda ms: [
                m
                for m in ms
                if "It's live" in (m["text"] or "") or "updated version" in (m["text"] or "")
            ],
            timeout=120,
        )[-1]

    results = {c: outcome(c) for c in (USER, OTHER)}
    winners = [c for c, m in results.items() if "It's live" in m["text"]]
    assert len(winners) == 1, results  # one went live, the other got the updated version
    loser = OTHER if winners == [USER] else USER
    tg.press_button(loser, results[loser]["message_id"], text="🚀 Ship it")
    tg.wait_for_text(loser, "It's live", timeout=60)

    css = origin_file(stack.origin, "src/style.css")
    assert "font-size: 1.5rem" in css and "border-radius: 14px" in css
    live = httpx.get(f"{stack.site.url}/style.css").text
    assert "font-size: 1.5rem" in live and "border-radius: 14px" in live
