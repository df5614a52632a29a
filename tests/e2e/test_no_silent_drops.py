"""Telegram timeouts, 5xx and flood limits on a share of Bot API calls lose no reply."""

from __future__ import annotations

from tests.e2e.conftest import USER, Script, bot_texts, edit_session

FAULTS = {"rate": 0.35, "kinds": ["timeout", "500", "502", "429"], "hold_s": 1.5, "seed": 7}


def test_every_message_is_answered_when_telegram_keeps_failing(start_stack):
    stack = start_stack(
        Script(edit_session("  font-size: 1rem;", "  font-size: 1.5rem;")),
        agent_env={"SHIPIT_TELEGRAM_TIMEOUT_S": "1"},  # the emulator holds "timeouts" 1.5 s
    )
    tg = stack.telegram.client(timeout=30)
    tg.configure(faults=FAULTS)

    tg.send_text(USER, "help")
    tg.wait_for_text(USER, "Tell me in your own words", timeout=60)
    tg.send_text(USER, "make the offset field bigger")
    preview = tg.wait_for_text(USER, "Your preview is ready", timeout=120)
    tg.send_text(USER, "status")
    tg.wait_for_text(USER, "Waiting for you:", timeout=60)
    tg.press_button(USER, preview["message_id"], text="🚀 Ship it")
    tg.wait_for_text(USER, "It's live", timeout=120)

    injected = tg.info()["faults_injected"]
    kinds = {f["kind"] for f in injected}
    assert {"timeout", "429"} <= kinds and kinds & {"500", "502"}, injected
    assert any(f["method"] == "sendMessage" for f in injected)
    texts = bot_texts(tg, USER)
    # Each answer exactly once: a failed call had no effect, its retry did.
    for needle in ("Tell me in your own words", "Your preview is ready", "It's live"):
        assert sum(needle in t for t in texts) == 1, texts
