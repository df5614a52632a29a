"""With a real Bot API (no public URL), the stack polls for updates and delivers them as a webhook."""

from __future__ import annotations

from local.telegram_emulator import start_emulator
from tests.e2e.conftest import USER, Script, edit_session

TOKEN = "5550001:stands-in-for-a-real-bot"


def test_polled_updates_go_through_the_relay_to_a_preview(start_stack):
    telegram = start_emulator(TOKEN)  # playing the real Telegram: no webhook is ever set on it
    try:
        tg = telegram.client()
        tg.send_text(USER, "/start")  # the person writes first, as on Telegram
        script = Script(edit_session("  font-size: 1rem;", "  font-size: 1.4rem;"))
        stack = start_stack(script, token=TOKEN, telegram_api_base=telegram.url)
        assert stack.telegram is None and stack.chat_page is None

        tg.send_text(USER, "make the offset field bigger")
        tg.wait_for_text(USER, "Your preview is ready", timeout=90)
        assert tg.info()["webhook"]["url"] == ""  # polled, never pushed
        assert stack.poller.delivered >= 2
    finally:
        telegram.stop()
