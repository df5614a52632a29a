"""The PreToolUse hook adapter: allow is {}, deny carries the reason, any failure denies."""

from __future__ import annotations

import posixpath
from pathlib import Path

from claude_agent_sdk import HookMatcher

from agent.guard.hooks import hook_matchers, pre_tool_use_hook
from agent.guard.policy import Policy

REPO = "/work/repo"
POLICY = Policy(repo=Path(REPO), commands=("node --test", "node build.js"))


def event(tool_name: str, tool_input: dict, cwd: str = REPO) -> dict:
    return {
        "hook_event_name": "PreToolUse",
        "session_id": "s",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": cwd,
        "tool_name": tool_name,
        "tool_input": tool_input,
        "tool_use_id": "toolu_1",
    }


def denial_reason(output: dict) -> str:
    specific = output["hookSpecificOutput"]
    assert specific["hookEventName"] == "PreToolUse"
    assert specific["permissionDecision"] == "deny"
    return specific["permissionDecisionReason"]


async def test_an_allowed_call_gets_no_opinion() -> None:
    hook = pre_tool_use_hook(POLICY, posixpath.normpath)
    assert await hook(event("Edit", {"file_path": f"{REPO}/src/app.js"}), "toolu_1", None) == {}
    assert await hook(event("Bash", {"command": "node --test"}), "toolu_2", None) == {}


async def test_a_denied_call_carries_the_policy_reason_and_is_recorded() -> None:
    denials: list[dict] = []
    hook = pre_tool_use_hook(POLICY, posixpath.normpath, denials)
    output = await hook(event("Bash", {"command": "git push origin HEAD"}), "toolu_1", None)
    assert "git push is not allowed" in denial_reason(output)
    assert denials == [
        {"tool_name": "Bash", "tool_use_id": "toolu_1", "reason": denial_reason(output)}
    ]


async def test_the_session_directory_reaches_the_policy() -> None:
    hook = pre_tool_use_hook(POLICY, posixpath.normpath)
    in_src = event("Bash", {"command": "node build.js"}, cwd=f"{REPO}/src")
    assert "repo root" in denial_reason(await hook(in_src, "toolu_1", None))


async def test_any_error_denies() -> None:
    def broken(_path: str) -> str:
        raise OSError("disk on fire")

    denials: list[dict] = []
    hook = pre_tool_use_hook(POLICY, broken, denials)
    output = await hook(event("Write", {"file_path": f"{REPO}/src/a.js"}), "toolu_1", None)
    assert "could not check" in denial_reason(output)
    assert denials[0]["tool_name"] == "Write"
    for bad in ({}, {"tool_name": "Write"}, None, "not a dict"):
        assert denial_reason(await hook(bad, None, None))  # type: ignore[arg-type]


async def test_unknown_and_removed_tools_are_denied() -> None:
    hook = pre_tool_use_hook(POLICY, posixpath.normpath)
    for tool in ("WebFetch", "Agent", "mcp__x__y"):
        assert denial_reason(await hook(event(tool, {"url": "https://x"}), "t", None))


async def test_matchers_put_one_fail_closed_hook_on_every_tool() -> None:
    matchers = hook_matchers(POLICY, posixpath.normpath)
    assert list(matchers) == ["PreToolUse"]
    (matcher,) = matchers["PreToolUse"]
    assert isinstance(matcher, HookMatcher)
    assert matcher.matcher is None and matcher.on_failure == "block"
    (hook,) = matcher.hooks
    assert denial_reason(await hook(event("Read", {"file_path": "/etc/passwd"}), "t", None))
