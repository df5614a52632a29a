"""One Claude Agent SDK run on the chat's repo: explicit env, hook policy, limits, resume."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claude_agent_sdk import (
    AssistantMessage,
    ClaudeAgentOptions,
    ResultMessage,
    TextBlock,
    ToolUseBlock,
    query,
)
from claude_agent_sdk._errors import ClaudeSDKError

from agent.guardrails import DISALLOWED_TOOLS, Policy
from agent.hooks import hook_matchers
from agent.messages import system_prompt
from agent.os_sandbox import sandbox_settings
from agent.repo_config import RepoConfig
from agent.settings import Settings

log = logging.getLogger(__name__)


# The tools the agent works with; everything dangerous is removed via DISALLOWED_TOOLS.
WORKING_TOOLS = (
    "Read",
    "Write",
    "Edit",
    "MultiEdit",
    "NotebookEdit",
    "Bash",
    "Glob",
    "Grep",
    "LS",
    "TodoWrite",
)


class CoderError(Exception):
    """The Claude run ended without a usable answer."""

    def __init__(
        self, subtype: str, terminal_reason: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(f"claude run failed: {subtype} ({terminal_reason or '-'}, http {status})")
        self.subtype = subtype
        self.terminal_reason = terminal_reason
        self.status = status


class CoderLimitError(CoderError):
    """The run hit its turn or budget cap."""


@dataclass(frozen=True)
class CoderRun:
    """What a run produced (the files it changed are in the repo's work tree)."""

    session_id: str | None
    answer: str
    cost_usd: float
    turns: int
    denials: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class CoderConfig:
    """Everything about how Claude runs that does not change between requests."""

    system_prompt: str
    env: dict[str, str]
    cli_wrapper: Path
    hooks: dict
    disallowed_tools: tuple[str, ...]
    max_turns: int
    max_budget_usd: float
    model: str = ""
    sandbox: dict | None = None


def coder_config(
    repo: Path,
    config: RepoConfig,
    cli_env: dict[str, str],
    cli_wrapper: Path,
    secret_paths: tuple[Path, ...],
    settings: Settings,
) -> CoderConfig:
    """The production configuration for one repo: prompt, guardrail hook, removed tools, caps."""
    policy = Policy.for_repo(repo, config, secret_paths=secret_paths)
    return CoderConfig(
        system_prompt=system_prompt(config.allowed_paths, config.validate, config.build),
        env=cli_env,
        cli_wrapper=cli_wrapper,
        hooks=hook_matchers(policy),
        disallowed_tools=DISALLOWED_TOOLS,
        max_turns=settings.max_turns,
        max_budget_usd=settings.max_budget_usd,
        model=settings.model,
        sandbox=sandbox_settings(repo, config, settings.workspace, secret_paths),
    )


async def run_coder(
    prompt: str, repo: Path, config: CoderConfig, resume: str | None = None, on_tool=None
) -> CoderRun:
    """Run Claude on `repo` until it answers; resume the chat's conversation when there is one."""
    try:
        return await _run(prompt, repo, config, resume, on_tool)
    except CoderError:
        raise
    except ClaudeSDKError as exc:
        if resume is None:
            raise CoderError("cli_error", str(exc)[:200]) from exc
        # The stored conversation may be gone (workspace wiped): start a fresh one.
        log.warning("resume of %s failed (%s); starting a new conversation", resume, exc)
        return await _run(prompt, repo, config, None, on_tool)


async def _run(
    prompt: str, repo: Path, config: CoderConfig, resume: str | None, on_tool
) -> CoderRun:
    options = ClaudeAgentOptions(
        cwd=str(repo),
        cli_path=str(config.cli_wrapper),
        env=config.env,
        system_prompt={"type": "preset", "preset": "claude_code", "append": config.system_prompt},
        # The target repo's own CLAUDE.md carries its domain rules; nothing from home or user.
        setting_sources=["project"],
        permission_mode="bypassPermissions",
        # With CLAUDE_CODE_SUBPROCESS_ENV_SCRUB the CLI drops back to asking for every tool unless
        # they are named here. Approval is not the gate: the PreToolUse hook decides every call.
        allowed_tools=list(WORKING_TOOLS),
        hooks=config.hooks,
        disallowed_tools=list(config.disallowed_tools),
        max_turns=config.max_turns,
        max_budget_usd=config.max_budget_usd,
        model=config.model or None,
        resume=resume,
        sandbox=config.sandbox,
        stderr=lambda line: log.info("claude: %s", line.rstrip()),
    )
    result: ResultMessage | None = None
    texts: list[str] = []
    try:
        async for message in query(prompt=prompt, options=options):
            if isinstance(message, AssistantMessage):
                for block in message.content:
                    if isinstance(block, TextBlock) and block.text.strip():
                        texts.append(block.text.strip())
                    elif isinstance(block, ToolUseBlock) and on_tool is not None:
                        await on_tool(block.name, block.input)
            elif isinstance(message, ResultMessage):
                result = message
    except ClaudeSDKError:
        if result is None:
            raise
        # The SDK raises after yielding an error result; the result says what happened.
    if result is None:
        raise CoderError("no_result")
    if result.is_error:
        limit = result.subtype in ("error_max_turns", "error_max_budget_usd")
        error_class = CoderLimitError if limit else CoderError
        raise error_class(result.subtype, result.terminal_reason, result.api_error_status)
    answer = (result.result or (texts[-1] if texts else "")).strip()
    return CoderRun(
        session_id=result.session_id,
        answer=answer,
        cost_usd=result.total_cost_usd or 0.0,
        turns=result.num_turns,
        denials=list(result.permission_denials or []),
    )
