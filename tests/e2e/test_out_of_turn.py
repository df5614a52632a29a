"""While a change request runs, quick questions are answered at once; work queues, acknowledged
once; webhook redeliveries produce no messages at all."""

from __future__ import annotations

import json
import re
import threading

import httpx

from local.scripted_claude import say
from tests.e2e.conftest import USER, Held, Script, bot_texts


def redeliver(stack, update: dict) -> None:
    """Telegram sending the same update again (it retries whenever it saw no 2xx in time)."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": stack.config.webhook_secret}
    httpx.post(stack.webhook_url, json=update, headers=headers, timeout=30).raise_for_status()


def count(texts: list[str], needle: str) -> int:
    return sum(needle in t for t in texts)


def test_quick_answers_queue_and_redeliveries_while_a_request_runs(start_stack):
    held = Held()
    stack = start_stack(Script([held]))
    tg = stack.telegram.client()
    try:
        first = tg.send_text(USER, "make the offset field bigger")
        assert held.entered.wait(60), "the model was never called"

        # help and status are answered while the model is still held mid-request.
        tg.send_text(USER, "help")
        tg.wait_for_text(USER, "Tell me in your own words", timeout=15)
        tg.send_text(USER, "status")
        status = tg.wait_for_text(USER, "Waiting for you:", timeout=15)
        assert "Working on:" in status["text"]
        assert "make the offset field bigger" in status["text"]
        assert "nothing yet" not in status["text"]  # the original app is live, in words
        assert "as it was before" in status["text"]

        # A redelivery of the running update is silent, even now.
        redeliver(stack, first["update"])

        # A second request queues: acknowledged once, its text clipped.
        long = "please make the button " + "really " * 500 + "green"
        queued = tg.send_text(USER, long)
        ack = tg.wait_for_text(USER, "Got it:", timeout=15)
        assert len(ack["text"]) < 300
        assert "make the offset field bigger" in ack["text"]  # what it waits for, by name
        redeliver(stack, queued["update"])

        # A typed ship while busy says what it waits behind, never an empty name.
        tg.send_text(USER, "ship it")
        tg.wait_for(USER, lambda ms: count(bot_texts(tg, USER), "Got it:") == 2, timeout=15)
        assert "putting your preview live" in bot_texts(tg, USER)[-1]
        # A sync point after the redeliveries: this answer comes after them.
        tg.send_text(USER, "help")
        tg.wait_for(USER, lambda ms: count(bot_texts(tg, USER), "Tell me in your own words") == 2)
    finally:
        held.release.set()

    # Then the work runs in order: the question, the queued request, the ship.
    tg.wait_for_text(USER, "nothing waiting to go live", timeout=90)
    texts = bot_texts(tg, USER)
    assert count(texts, "Which colour would you like?") == 1
    assert count(texts, "Got it:") == 2  # one per queued message; none for the redeliveries
    order = [
        next(i for i, t in enumerate(texts) if needle in t)
        for needle in ("Which colour would you like?", "didn't change anything", "nothing waiting")
    ]
    assert order == sorted(order)
    assert len(stack.model.requests) == 2  # two requests ran the model; nothing ran twice


def test_many_chats_writing_at_once_each_keep_their_order(start_stack):
    """The first updates after start arrive together: one runtime, one queue per chat."""
    chats = (USER, 1002, 1003)

    def respond(request):
        last = [m for m in request["messages"] if m.get("role") == "user"][-1]
        token = re.findall(r"REQ-\d+-\d", json.dumps(last))[-1]
        return say(f"Which colour for {token.replace('REQ', 'ANS')}?")

    stack = start_stack(respond, allowed_user_ids=chats)
    tg = stack.telegram.client()
    senders = [
        threading.Thread(target=lambda c=c: [tg.send_text(c, f"nicer REQ-{c}-{n}") for n in (0, 1)])
        for c in chats
    ]
    for s in senders:
        s.start()
    for s in senders:
        s.join()
    for chat in chats:
        tg.wait_for(
            chat, lambda ms, c=chat: sum(f"ANS-{c}-" in t for t in bot_texts(tg, c)) == 2, 90
        )
        texts = bot_texts(tg, chat)
        answers = [re.findall(rf"ANS-{chat}-(\d)", t) for t in texts]
        assert [a[0] for a in answers if a] == ["0", "1"], texts
        assert count(texts, "Got it:") == 1 and count(texts, "restarted") == 0, texts
