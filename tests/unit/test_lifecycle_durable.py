"""The durable lifecycle (relay/lifecycle.py) under the SDK's own DurableFunctionTestRunner.

Only the network peers are stand-ins: a scripted agent behind the real AgentCore emulator, and
the local Bot API emulator. Time is skipped, so day-long waits take milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from aws_durable_execution_sdk_python.execution import InvocationStatus
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from local import agentcore_emulator
from local.servers import serve_in_thread
from local.telegram_emulator import start_emulator
from relay import lifecycle
from relay.handler import execution_name, lifecycle_input
from relay.texts import text

ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/shipit-test"
TOKEN = "123:lifecycle-test"
CHAT = 4242
UPDATE = {
    "update_id": 77,
    "message": {
        "message_id": 1,
        "date": 1,
        "chat": {"id": CHAT, "type": "private"},
        "from": {"id": CHAT, "is_bot": False, "first_name": "Ada"},
        "text": "make the title blue",
    },
}


class ScriptedAgent:
    """The agent's /invocations, answering from a script: one function per kind of call."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.answer: Callable[[dict, int], tuple[int, dict]] = lambda payload, n: (200, {})

    async def invocations(self, request: Request) -> JSONResponse:
        payload = await request.json()
        self.calls.append(payload)
        status, body = self.answer(payload, len(self.calls))
        return JSONResponse(body, status_code=status)

    def ops(self) -> list[str]:
        return [c["lifecycle"]["op"] if "lifecycle" in c else "update" for c in self.calls]


@pytest.fixture(scope="module")
def peers():
    agent = ScriptedAgent()
    app = Starlette(routes=[Route("/invocations", agent.invocations, methods=["POST"])])
    agent_server = serve_in_thread(app, name="scripted-agent")
    emulator = serve_in_thread(agentcore_emulator.create_app(agent_server.url, ARN), name="ac")
    telegram = start_emulator(TOKEN)
    yield agent, emulator.url, telegram
    telegram.stop()
    emulator.stop()
    agent_server.stop()


@pytest.fixture
def env(peers, aws_env, monkeypatch):
    agent, emulator_url, telegram = peers
    agent.calls.clear()
    telegram.client().reset()
    telegram.client().send_text(CHAT, "make the title blue")  # the chat exists, as in life
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENTCORE", emulator_url)
    monkeypatch.setenv("SHIPIT_AGENT_RUNTIME_ARN", ARN)
    monkeypatch.setenv("SHIPIT_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SHIPIT_TELEGRAM_API_BASE", telegram.url)
    monkeypatch.setenv("SHIPIT_SUPERVISE_POLL_S", "60")
    monkeypatch.setattr(lifecycle, "_client", None)  # a fresh client sees this endpoint
    return agent, telegram


def run(event: dict | None = None):
    event = event or lifecycle_input(UPDATE, CHAT)
    with DurableFunctionTestRunner(handler=lifecycle.handler) as runner:
        result = runner.run(input=json.dumps(event), execution_timeout=60)
    return result


def output(result) -> dict:
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    return json.loads(result.result)


def bot_texts(telegram) -> list[str]:
    return [m["text"] for m in telegram.client().bot_messages(CHAT)]


def started(payload, n):
    if "update" in payload:
        return 200, {"accepted": True, "started": "request", "request_id": "u77"}
    return None


def test_a_normal_request_is_delivered_supervised_and_ends(env):
    agent, telegram = env

    def answer(payload, n):
        first = started(payload, n)
        if first:
            return first
        return 200, {"state": "running" if n < 4 else "done"}

    agent.answer = answer
    result = run()
    assert output(result) == {"outcome": "done"}
    assert agent.ops() == ["update", "status", "status", "status"]
    assert agent.calls[0] == {"update": UPDATE}
    assert result.get_step("deliver").result is not None
    assert result.get_wait("poll-wait-0") is not None
    assert bot_texts(telegram) == []  # the agent speaks for itself; the lifecycle stays quiet


def test_a_message_that_is_not_a_request_is_only_delivered(env):
    agent, telegram = env
    agent.answer = lambda payload, n: (200, {"accepted": True})
    assert output(run()) == {"outcome": "delivered"}
    assert agent.ops() == ["update"]


def test_a_redelivered_update_has_the_same_execution_name(env):
    # Lambda's idempotency key: the same update bytes always give the same name, and a
    # different update (or a reused id with other content) another one.
    again = json.loads(json.dumps(UPDATE))
    assert execution_name(again) == execution_name(UPDATE)
    other = {**UPDATE, "message": {**UPDATE["message"], "text": "something else"}}
    assert execution_name(other) != execution_name(UPDATE)
    assert len(execution_name(UPDATE)) <= 64


def test_a_throttled_runtime_is_retried_with_backoff_until_it_answers(env):
    agent, telegram = env

    def answer(payload, n):
        if n <= 3:
            return 503, {"message": "starting"}  # the emulator turns this into a 424
        return (200, {"accepted": True})

    agent.answer = answer
    result = run()
    assert output(result) == {"outcome": "delivered"}
    assert agent.ops() == ["update"] * 4
    assert result.get_step("deliver").attempt == 4
    assert bot_texts(telegram) == []


def test_an_unreachable_runtime_means_the_requester_is_told(env, monkeypatch):
    agent, telegram = env
    monkeypatch.setenv("SHIPIT_DELIVER_ATTEMPTS", "3")
    agent.answer = lambda payload, n: (500, {"error": "down"})
    result = run()
    assert output(result) == {"outcome": "unreachable"}
    assert agent.ops() == ["update"] * 3
    assert bot_texts(telegram) == [text("lifecycle_unreachable")]


def test_a_refused_call_is_not_retried(env, monkeypatch):
    agent, telegram = env
    monkeypatch.setenv("SHIPIT_AGENT_RUNTIME_ARN", ARN + "-gone")  # 404 from the service
    assert output(run()) == {"outcome": "unreachable"}
    assert agent.calls == []
    assert bot_texts(telegram) == [text("lifecycle_unreachable")]


def test_a_session_that_dies_mid_request_is_reported_once_by_the_agent(env):
    agent, telegram = env

    def answer(payload, n):
        first = started(payload, n)
        if first:
            return first
        if n == 2:
            return 200, {"state": "running"}
        if n in (3, 4):
            return 502, {}  # the session is gone; the next call starts a new one
        # The new session's start-up closed the request out and told the requester.
        return 200, {"state": "interrupted", "told": True}

    agent.answer = answer
    result = run()
    assert output(result) == {"outcome": "interrupted"}
    assert agent.ops() == ["update", "status", "status", "status", "status"]
    assert bot_texts(telegram) == []  # told once, by the agent, not twice


def test_a_session_that_never_comes_back_is_reported_by_the_lifecycle(env, monkeypatch):
    agent, telegram = env
    monkeypatch.setenv("SHIPIT_DELIVER_ATTEMPTS", "2")

    def answer(payload, n):
        first = started(payload, n)
        return first or (500, {})

    agent.answer = answer
    assert output(run()) == {"outcome": "unreachable"}
    assert bot_texts(telegram) == [text("lifecycle_lost")]


def test_an_update_lost_before_it_was_read_is_delivered_again(env):
    agent, telegram = env

    def answer(payload, n):
        if "update" in payload:
            return started(payload, n)
        if n == 2:
            return 200, {"state": "lost"}  # a new process never saw the update
        return 200, {"state": "done"}

    agent.answer = answer
    assert output(run()) == {"outcome": "done"}
    assert agent.ops() == ["update", "status", "update", "status"]
    assert bot_texts(telegram) == []


def _waiting(after_remind: str):
    def answer(payload, n):
        first = started(payload, n)
        if first:
            return first
        op = payload["lifecycle"]["op"]
        if op == "status":
            return 200, {"state": "waiting", "preview_id": "p1"}
        if op == "remind":
            return 200, {"state": after_remind}
        return 200, {"state": "expired"}

    return answer


def test_a_waiting_preview_is_reminded_then_expired(env):
    agent, telegram = env
    agent.answer = _waiting("waiting")
    result = run()
    assert output(result) == {"outcome": "preview-expired"}
    assert agent.ops() == ["update", "status", "remind", "expire"]
    six_days = 6 * 86400
    assert agent.calls[2]["lifecycle"] == {
        "op": "remind",
        "chat_id": CHAT,
        "preview_id": "p1",
        "expires_in_s": six_days,
    }
    assert agent.calls[3]["lifecycle"]["waited_s"] == 7 * 86400
    assert result.get_wait("remind-wait") is not None
    assert result.get_wait("expire-wait") is not None


def test_a_shipped_preview_is_not_expired(env):
    agent, telegram = env
    agent.answer = _waiting("gone")  # the agent says the preview was shipped meanwhile
    assert output(run()) == {"outcome": "preview-settled", "at": "remind"}
    assert agent.ops() == ["update", "status", "remind"]


def test_settings_refuse_an_expiry_before_the_reminder(env, monkeypatch):
    from relay.settings import SettingsError, lifecycle_from_env

    monkeypatch.setenv("SHIPIT_REMIND_AFTER_S", "100")
    monkeypatch.setenv("SHIPIT_EXPIRE_AFTER_S", "50")
    with pytest.raises(SettingsError) as err:
        lifecycle_from_env()
    assert err.value.name == "SHIPIT_EXPIRE_AFTER_S"
    defaults = lifecycle_from_env({"SHIPIT_AGENT_RUNTIME_ARN": ARN})
    assert (defaults.remind_after_s, defaults.expire_after_s) == (86400, 604800)


def test_the_bot_token_is_plain_or_fetched_and_never_printed():
    from relay.settings import SettingsError, lifecycle_from_env

    plain = lifecycle_from_env({"SHIPIT_AGENT_RUNTIME_ARN": ARN, "SHIPIT_BOT_TOKEN": TOKEN})
    assert plain.resolve_bot_token() == TOKEN and TOKEN not in repr(plain)
    stored = lifecycle_from_env(
        {"SHIPIT_AGENT_RUNTIME_ARN": ARN, "SHIPIT_BOT_TOKEN_SECRET_ARN": "arn:s"}
    )
    assert stored.resolve_bot_token(lambda arn: f"{TOKEN}\n" if arn == "arn:s" else "") == TOKEN
    with pytest.raises(SettingsError):
        lifecycle_from_env({"SHIPIT_AGENT_RUNTIME_ARN": ARN}).resolve_bot_token()
