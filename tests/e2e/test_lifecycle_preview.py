"""A preview nobody answers is reminded, then dropped; a shipped one is left alone.

Through the whole local stack, with the lifecycle's waits shortened to seconds: the real relay,
the real lifecycle on the SDK's local runner, the real agent and CLI.
"""

from __future__ import annotations

import json
import time

import httpx

from tests.e2e.conftest import USER, Script, edit_session, git, links

BIGGER = ("  font-size: 1rem;\n  padding: 0.25rem;", "  font-size: 1.6rem;\n  padding: 0.5rem;")
FAST = {"SHIPIT_SUPERVISE_POLL_S": "1", "SHIPIT_REMIND_AFTER_S": "2", "SHIPIT_EXPIRE_AFTER_S": "4"}


def executions(stack) -> list[dict]:
    """Every lifecycle execution, as the durable-execution API reports it (real boto3)."""
    import boto3

    client = boto3.session.Session().client("lambda", endpoint_url=stack.lifecycle.url)
    arns = [
        e["arn"]
        for e in httpx.get(f"{stack.lifecycle.url}/_emulator/executions").json()["executions"]
    ]
    return [client.get_durable_execution(DurableExecutionArn=arn) for arn in arns]


def test_an_unanswered_preview_is_reminded_once_then_dropped(start_stack):
    script = Script(edit_session(*BIGGER, answer="I made the offset field bigger."))
    stack = start_stack(script, lifecycle_env=FAST)
    tg = stack.telegram.client()
    tg.send_text(USER, "make the offset field bigger")
    preview = tg.wait_for_text(USER, "Your preview is ready", timeout=90)
    build_id = links(preview)[0].rstrip("/").rsplit("/", 1)[-1]

    reminder = tg.wait_for_text(USER, "Your preview is still waiting", timeout=60)
    assert links(reminder)[0] == links(preview)[0]
    assert "Ship it" in str(reminder["buttons"])
    tg.wait_for_text(USER, "without an answer, so I dropped it", timeout=60)

    clone = stack.workspace / "chats" / str(USER) / "repo"
    assert f"preview/{build_id}" not in git(clone, "branch")  # the branch is dropped
    assert (stack.site_dir / "builds" / build_id).is_dir()  # the build is kept
    bot = [m["text"] for m in tg.bot_messages(USER)]
    assert sum("still waiting" in t for t in bot) == 1
    # The preview's buttons are gone: nothing can ship a dropped preview.
    assert (
        next(m for m in tg.messages(USER) if m["message_id"] == preview["message_id"])["buttons"]
        == []
    )
    tg.send_text(USER, "status")
    tg.wait_for_text(USER, "Waiting for you: nothing", timeout=30)


def test_a_shipped_preview_is_not_reminded(start_stack):
    script = Script(edit_session(*BIGGER, answer="I made the offset field bigger."))
    stack = start_stack(script, lifecycle_env={**FAST, "SHIPIT_REMIND_AFTER_S": "3"})
    tg = stack.telegram.client()
    tg.send_text(USER, "make the offset field bigger")
    preview = tg.wait_for_text(USER, "Your preview is ready", timeout=90)
    tg.press_button(USER, preview["message_id"], text="🚀 Ship it")
    tg.wait_for_text(USER, "It's live", timeout=60)

    # The request's lifecycle ends without a reminder: either its last status poll already saw
    # the preview shipped ("done"), or it asked to remind after 3 s and was told "gone".
    deadline = time.monotonic() + 60
    found = executions(stack)
    while any(e["Status"] == "RUNNING" for e in found):
        assert time.monotonic() < deadline, found
        time.sleep(0.2)  # polling the executions' status, with a deadline
        found = executions(stack)
    results = [json.loads(e["Result"]) for e in found]
    assert {"outcome": "delivered"} in results  # the "Ship it" tap
    request = [r for r in results if r != {"outcome": "delivered"}]
    assert request in ([{"outcome": "done"}], [{"outcome": "preview-settled", "at": "remind"}])
    assert not any("still waiting" in m["text"] for m in tg.bot_messages(USER))
