"""Telegram out, through the real python-telegram-bot against the local Bot API emulator."""

import pytest
from telegram import Bot
from telegram.error import NetworkError

from agent.chat import Chat, StatusCard, make_bot
from agent.messages import render
from local.telegram_emulator import start_emulator

TOKEN = "4242:chat-test-token"
USER = 777


@pytest.fixture
def emulator():
    running = start_emulator(TOKEN)
    client = running.client()
    client.send_text(USER, "hi")  # a bot may only write once the person has
    yield running, client
    running.stop()


def make_chat(url: str) -> Chat:
    return Chat(Bot(TOKEN, base_url=f"{url}/bot", base_file_url=f"{url}/file/bot"))


async def test_long_messages_are_split_and_buttons_go_on_the_last_part(emulator):
    running, client = emulator
    chat = make_chat(running.url)
    text = "\n".join(f"<b>line {i}</b> " + "x" * 80 for i in range(120))
    await chat.send(USER, text, [("🚀 Ship it", "ship:abc")])
    sent = client.bot_messages(USER)
    assert len(sent) == 3
    assert all(len(m["text"]) <= 4096 for m in sent)
    assert [bool(m["buttons"]) for m in sent] == [False, False, True]


async def test_html_the_server_rejects_falls_back_to_plain_text(emulator):
    running, client = emulator
    chat = make_chat(running.url)
    await chat.send(USER, 'broken <b>markup <a href="https://x.test/p">preview</a>')
    message = client.bot_messages(USER)[-1]
    assert message["parse_mode"] is None
    assert "preview (https://x.test/p)" in message["text"]


async def test_flood_limit_is_waited_out_not_fatal(emulator):
    running, client = emulator
    client.configure(rate_limit={"max_calls": 1, "window": 1, "retry_after": 1})
    chat = make_chat(running.url)
    await chat.send(USER, "first")
    await chat.send(USER, "second")  # 429 retry_after=1, then succeeds
    assert [m["text"] for m in client.bot_messages(USER)] == ["first", "second"]


async def test_status_card_edits_in_place_and_ignores_not_modified(emulator):
    running, client = emulator
    chat = make_chat(running.url)
    state = {"phase": "one"}
    card = StatusCard(chat, USER, lambda: (render("phase_doing", label=state["phase"]), None), 0)
    await card.show()
    state["phase"] = "two"
    await card.refresh(force=True)
    await card.refresh(force=True)  # same text: Telegram says "not modified", which is fine
    (message,) = client.bot_messages(USER)
    assert "two" in message["text"] and message["edit_count"] == 1


async def test_status_card_is_quiet_within_the_edit_interval(emulator):
    running, client = emulator
    chat = make_chat(running.url)
    state = {"n": 0}
    card = StatusCard(chat, USER, lambda: (f"step {state['n']}", None), min_interval_s=3600)
    await card.show()
    for n in range(5):
        state["n"] = n
        await card.refresh()
    assert client.bot_messages(USER)[0]["edit_count"] == 0
    await card.refresh(force=True)
    assert client.bot_messages(USER)[0]["text"] == "step 4"


async def test_timeouts_5xx_and_floods_are_retried_and_nothing_is_lost_or_doubled(emulator):
    running, client = emulator
    kinds = ["timeout", "500", "502", "503", "429"]
    client.configure(faults={"rate": 0.5, "kinds": kinds, "hold_s": 0.6, "seed": 1})
    chat = Chat(make_bot(TOKEN, running.url, timeout_s=0.3), backoff_s=(0.05,) * 12)
    for n in range(16):
        await chat.send(USER, f"message {n}")
    seen = {f["kind"] for f in client.info()["faults_injected"]}
    assert {"timeout", "429"} <= seen and seen & {"500", "502", "503"}, seen
    assert [m["text"] for m in client.bot_messages(USER)] == [f"message {n}" for n in range(16)]


async def test_a_telegram_that_stays_down_raises_so_the_caller_can_tell(emulator):
    running, client = emulator
    client.configure(faults={"rate": 1.0, "kinds": ["502"]})
    chat = Chat(make_bot(TOKEN, running.url), backoff_s=(0.01, 0.01))
    with pytest.raises(NetworkError):
        await chat.send(USER, "never arrives")
    assert len(client.info()["faults_injected"]) == 3  # the first try and two retries
