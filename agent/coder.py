"""One Claude Agent SDK run on the chat's repo: inside the box, hook policy, caps, resume."""

from __future__ import annotations

import asyncio
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

from agent.guard.cli import CliBox
from agent.guard.hooks import hook_matchers
from agent.guard.policy import DISALLOWED_TOOLS, Policy
from agent.messages import system_prompt
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


class CoderTimeout(CoderError):
    """The run went past its wall clock; the box and everything in it were killed."""

    def __init__(self, seconds: float) -> None:
        super().__init__("timeout", f"over {seconds:.0f} s")
        self.seconds = seconds


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
    cli: CliBox
    writable: tuple[str, ...]  # repo folders the box lets the run change
    transcripts: Path  # the chat's conversation store (copied in and out of each run)
    hooks: dict
    disallowed_tools: tuple[str, ...]
    max_turns: int
    max_budget_usd: float
    timeout_s: float
    model: str = ""


def coder_config(
    repo: Path,
    config: RepoConfig,
    cli: CliBox,
    transcripts: Path,
    secret_paths: tuple[Path, ...],
    settings: Settings,
) -> CoderConfig:
    """The production configuration for one repo: box, prompt, guardrail hook, removed tools, caps."""
    policy = Policy.for_repo(repo, config, secret_paths=secret_paths)
    return CoderConfig(
        system_prompt=system_prompt(config.allowed_paths, config.validate, config.build),
        cli=cli,
        writable=writable_paths(config),
        transcripts=transcripts,
        hooks=hook_matchers(policy),
        disallowed_tools=DISALLOWED_TOOLS,
        max_turns=settings.max_turns,
        max_budget_usd=settings.max_budget_usd,
        timeout_s=settings.claude_timeout_s,
        model=settings.model,
    )


def writable_paths(config: RepoConfig) -> tuple[str, ...]:
    """What the box lets the agent change: the allowed folders and the build output."""
    return tuple(dict.fromkeys((*config.allowed_paths, config.output.rstrip("/") + "/")))


async def run_coder(
    prompt: str, repo: Path, config: CoderConfig, resume: str | None = None, on_tool=None
) -> CoderRun:
    """Run Claude on `repo` until it answers; resume the chat's conversation when there is one.

    The run is boxed, its spending capped by the model proxy, and its wall clock bounded: on
    expiry the whole box is killed and CoderTimeout raised."""
    try:
        return await _boxed(prompt, repo, config, resume, on_tool)
    except CoderError:
        raise
    except ClaudeSDKError as exc:
        if resume is None:
            raise CoderError("cli_error", str(exc)[:200]) from exc
        # The stored conversation may be gone (workspace wiped): start a fresh one.
        log.warning("resume of %s failed (%s); starting a new conversation", resume, exc)
        return await _boxed(prompt, repo, config, None, on_tool)


async def _boxed(
    prompt: str, repo: Path, config: CoderConfig, resume: str | None, on_tool
) -> CoderRun:
    cap = config.max_budget_usd
    with config.cli.run(repo, config.writable, config.transcripts, cap) as boxed:
        try:
            async with asyncio.timeout(config.timeout_s):
                return await _run(prompt, repo, config, resume, on_tool, boxed.wrapper)
        except TimeoutError as exc:
            raise CoderTimeout(config.timeout_s) from exc
        except CoderError:
            if boxed.grant.exhausted:
                raise CoderLimitError("error_max_budget_usd", "model proxy cap") from None
            raise
        finally:
            boxed.kill()  # whatever is left of the box (a spinning child of a check) goes too


async def _run(
    prompt: str, repo: Path, config: CoderConfig, resume: str | None, on_tool, cli_path: Path
) -> CoderRun:
    options = ClaudeAgentOptions(
        cwd=str(repo),
        cli_path=str(cli_path),
        env={},  # the box's wrapper sets the CLI's whole environment itself
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
