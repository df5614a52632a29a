"""The agent process dies mid-request: the lifecycle notices, and the requester hears back.

Through the whole local stack: Telegram emulator → relay → the real lifecycle on the SDK's local
runner → AgentCore emulator → the agent process → the real CLI against a scripted model that
blocks until the test has killed the agent. Nobody writes again; the next status poll finds the
agent dead, the emulator starts it again (as AgentCore starts a new session), and the new
process closes the request out honestly (agent/recovery.py).
"""

from __future__ import annotations

import json
import threading

import httpx

from agent.recovery import orphans
from local.scripted_claude import say
from tests.e2e.conftest import USER, Script, git


def test_agent_killed_mid_request_is_reported_without_a_new_message(start_stack):
    entered, release = threading.Event(), threading.Event()

    def blocking(request):
        entered.set()
        release.wait(120)  # the CLI waits for the model like it would for a slow turn
        return say("too late")

    stack = start_stack(Script([blocking]), lifecycle_env={"SHIPIT_SUPERVISE_POLL_S": "1"})
    try:
        client = stack.telegram.client()
        client.send_text(USER, "make the offset field bigger")
        assert entered.wait(60), "the model was never asked"
        card = client.wait_for(
            USER, lambda ms: next((m for m in ms if m["from_bot"] and m["buttons"]), None)
        )[-1]
        assert "Stop" in str(card["buttons"])
        chats = stack.workspace / "chats"
        assert orphans(chats), "the CLI should be running in the chat's repo"
        first_agent = stack.agent.proc.pid

        stack.agent.kill()

        told = client.wait_for_text(USER, "interrupted while working on", timeout=90)
        assert "Nothing live has changed" in told["text"]
        assert stack.agent.alive and stack.agent.proc.pid != first_agent  # brought back
        messages = client.messages(USER)
        people = [m for m in messages if not m["from_bot"]]
        assert [m["text"] for m in people] == ["make the offset field bigger"]  # no new message
        card_now = next(m for m in messages if m["message_id"] == card["message_id"])
        assert card_now["buttons"] == [] and "Interrupted" in card_now["text"]
        assert orphans(chats) == []  # the orphaned CLI was killed
        repo = chats / str(USER) / "repo"
        assert git(repo, "status", "--porcelain") == ""
        assert "preview/" not in git(repo, "branch")  # the half-made branch is gone
        # Told once: the lifecycle stopped supervising, and recovery does not repeat itself.
        executions = httpx.get(f"{stack.lifecycle.url}/_emulator/executions").json()
        assert len(executions["executions"]) == 1
        # Another start (and its first invocation, which runs recovery) tells nobody again.
        stack.restart_agent()
        state = json.loads((chats / str(USER) / "state.json").read_text())
        call = {"op": "status", "chat_id": USER, "request_id": state["interrupted_id"]}
        answer = httpx.post(f"{stack.agent.url}/invocations", json={"lifecycle": call}, timeout=30)
        assert answer.json() == {"state": "interrupted", "told": True}
        bot_texts = [m["text"] for m in client.bot_messages(USER)]
        assert sum("interrupted while working on" in t for t in bot_texts) == 1
    finally:
        release.set()
