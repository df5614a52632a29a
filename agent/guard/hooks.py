"""The PreToolUse hook: a thin, fail-closed adapter from the Claude Agent SDK to agent.guard.policy."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from claude_agent_sdk import HookMatcher

from agent.guard.policy import Policy, Resolver, decide

log = logging.getLogger(__name__)

Hook = Callable[[dict[str, Any], str | None, Any], Awaitable[dict[str, Any]]]


def pre_tool_use_hook(
    policy: Policy,
    resolve: Resolver = os.path.realpath,
    denials: list[dict[str, Any]] | None = None,
) -> Hook:
    """A PreToolUse callback enforcing `policy`; denials are appended to `denials` when given."""

    async def hook(input_data: dict[str, Any], tool_use_id: str | None, context: Any) -> dict:
        try:
            tool_name = input_data["tool_name"]
            decision = decide(
                tool_name, input_data["tool_input"], policy, resolve, input_data.get("cwd")
            )
            if decision.allowed:
                return {}
            reason = decision.reason
        except Exception as exc:  # fail closed: a bug in the policy must never let a call through
            log.exception("guardrail hook failed; denying the tool call")
            tool_name = str(input_data.get("tool_name")) if isinstance(input_data, dict) else "?"
            reason = (
                f"The guardrail could not check this call ({type(exc).__name__}); it is denied."
            )
        if denials is not None:
            denials.append({"tool_name": tool_name, "tool_use_id": tool_use_id, "reason": reason})
        return deny(reason)

    return hook


def deny(reason: str) -> dict[str, Any]:
    """The hook output that blocks the call and shows `reason` to the model."""
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": reason,
        }
    }


def hook_matchers(
    policy: Policy,
    resolve: Resolver = os.path.realpath,
    denials: list[dict[str, Any]] | None = None,
) -> dict[str, list[HookMatcher]]:
    """`ClaudeAgentOptions.hooks`: the policy on every tool call (matcher None matches all)."""
    # on_failure="block": should the callback itself fail or time out, the CLI blocks the call.
    matcher = HookMatcher(
        matcher=None, hooks=[pre_tool_use_hook(policy, resolve, denials)], on_failure="block"
    )
    return {"PreToolUse": [matcher]}
