"""The local chat page in real headless Chromium: a long typed text goes out in parts, like
Telegram's apps send it, and nothing typed is lost."""

from __future__ import annotations

import json

import pytest

from local.telegram_emulator import start_emulator
from tests.browser import Browser

USER = 4321


@pytest.fixture(scope="module")
def page():
    emulator = start_emulator("77:page-test-token")
    browser = Browser()
    tab = browser.open(f"{emulator.url}/?user_id={USER}&name=Ada")
    tab.wait_for(f"typeof me !== 'undefined' && me !== null && me.id === {USER}")
    yield tab, emulator.client()
    browser.close()
    emulator.stop()


def type_and_send(tab, text: str) -> None:
    tab.evaluate(f'$("input").value = {json.dumps(text)}; $("composer").requestSubmit(); true')


def test_a_long_message_is_sent_in_parts_at_line_breaks(page):
    tab, client = page
    client.reset()
    lines = [f"line {i}: " + " ".join(["make it nicer"] * 6) for i in range(110)]  # ≈ 10 000
    text = "\n".join(lines)
    type_and_send(tab, text)
    sent = client.wait_for(USER, lambda ms: len(ms) >= 3, timeout=30, any_change=True)
    parts = [m["text"] for m in sent]
    assert len(parts) == 3 and all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text  # cut on line breaks: nothing lost, nothing added
    assert tab.wait_for('$("input").value === ""')


def test_a_long_unbroken_text_is_cut_at_the_limit(page):
    tab, client = page
    client.reset()
    text = "x" * 5000
    type_and_send(tab, text)
    sent = client.wait_for(USER, lambda ms: len(ms) >= 2, timeout=30, any_change=True)
    assert [len(m["text"]) for m in sent] == [4096, 904]


def test_the_splitting_rule_itself(page):
    tab, _client = page
    parts = tab.evaluate('splitLikeTelegram("aaaa bbbb cccc", 9)')
    assert parts == ["aaaa bbbb", "cccc"]
    assert tab.evaluate('splitLikeTelegram("short")') == ["short"]
