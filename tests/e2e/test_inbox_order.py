"""A chat's messages are taken in Telegram's order even when their deliveries arrive swapped
(each update has its own durable execution): the agent takes the chat's earlier inbox entries
first (agent/inbox.py). Driven at the agent's own endpoint, so the order is chosen, not raced."""

from __future__ import annotations

import json
import re
import time

import httpx

from local.scripted_claude import say
from local.stack import INBOX_BUCKET
from relay.handler import inbox_key
from tests.e2e.conftest import USER, bot_texts


def answer_by_token(request):
    last = [m for m in request["messages"] if m.get("role") == "user"][-1]
    token = re.findall(r"REQ-\w+", json.dumps(last))[-1]
    return say(f"Which colour for {token.replace('REQ', 'ANS')}?")


def text_update(update_id: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": USER, "type": "private"},
            "from": {"id": USER, "is_bot": False, "first_name": "Ada"},
            "text": text,
        },
    }


def deliver(stack, update: dict, key: str) -> dict:
    """What the lifecycle's deliver step sends (relay/lifecycle.py)."""
    payload = {"update": update, "inbox_key": key}
    return httpx.post(f"{stack.agent.url}/invocations", json=payload, timeout=30).json()


def record(stack, update: dict, received_ms: int) -> str:
    """What the relay does before answering Telegram: the update into its chat's inbox."""
    key = inbox_key(USER, received_ms, update["update_id"])
    stack.inbox_objects.objects[INBOX_BUCKET][key] = json.dumps(update).encode()
    return key


def chat_started(start_stack):
    """A stack whose chat exists, as it would before anyone writes twice."""
    stack = start_stack(answer_by_token)
    tg = stack.telegram.client()
    tg.send_text(USER, "help")
    tg.wait_for_text(USER, "Tell me in your own words", timeout=30)
    return stack, tg


def test_the_later_delivery_first_still_runs_the_earlier_message_first(start_stack):
    stack, tg = chat_started(start_stack)

    first, second = text_update(900001, "nicer REQ-A"), text_update(900002, "nicer REQ-B")
    now = int(time.time() * 1000)
    first_key, second_key = record(stack, first, now), record(stack, second, now + 40)

    answer = deliver(stack, second, second_key)  # the second message's execution won the race
    assert answer["started"] == "request" and answer["request_id"] == "u900002"
    calls = stack.inbox_objects.calls
    assert ("GetObject", first_key) in calls and (
        "GetObject",
        second_key,
    ) not in calls  # came along

    tg.wait_for(USER, lambda ms: sum("ANS-" in t for t in bot_texts(tg, USER)) == 2, timeout=90)
    texts = bot_texts(tg, USER)
    answers = [re.findall(r"ANS-(\w)", t)[0] for t in texts if "ANS-" in t]
    assert answers == ["A", "B"], texts
    [ack] = [t for t in texts if "Got it:" in t]
    assert "REQ-B" in ack and "REQ-A" in ack  # B waits behind A, by name

    # The first message's own delivery comes late: nothing new happens, and its lifecycle is
    # still told which request it started (so it supervises it).
    late = deliver(stack, first, first_key)
    assert late["duplicate"] is True
    assert (late["started"], late["request_id"]) == ("request", "u900001")
    assert sum("ANS-" in t for t in bot_texts(tg, USER)) == 2
    assert len(stack.model.requests) == 2

    # Taken entries are deleted (a lifecycle rule sweeps any left on AWS).
    deadline = time.monotonic() + 10
    while stack.inbox_objects.keys(INBOX_BUCKET) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling a condition with a deadline
    assert stack.inbox_objects.keys(INBOX_BUCKET) == []


def test_an_unreadable_inbox_still_takes_the_delivered_message(start_stack):
    stack, tg = chat_started(start_stack)
    update = text_update(900011, "nicer REQ-C")
    key = record(stack, update, int(time.time() * 1000))
    stack.inbox_objects.fail = True  # S3 answers 503 to everything

    answer = deliver(stack, update, key)
    assert answer["started"] == "request"
    tg.wait_for_text(USER, "ANS-C", timeout=90)


def test_a_key_of_another_chat_is_not_followed(start_stack):
    """A delivery names its inbox key; one outside its own chat is ignored, not read."""
    stack, tg = chat_started(start_stack)
    other = text_update(900021, "nicer REQ-X")
    other["message"]["chat"]["id"] = other["message"]["from"]["id"] = 4321
    foreign = inbox_key(4321, int(time.time() * 1000), 900021)
    stack.inbox_objects.objects[INBOX_BUCKET][foreign] = json.dumps(other).encode()

    mine = text_update(900022, "nicer REQ-D")
    answer = deliver(stack, mine, foreign)
    assert answer["started"] == "request"
    tg.wait_for_text(USER, "ANS-D", timeout=90)
    assert ("ListObjectsV2", "4321/") not in stack.inbox_objects.calls
    assert "ANS-X" not in " ".join(bot_texts(tg, 4321))
