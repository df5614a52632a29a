"""The request pipeline: sync, install, Claude's edit, Shipit's check, the repo's checks (with
bounded fix rounds), build, publish; a Preview, or RequestFailed with the requester's words.

agent/journey.py shows the status card around it and offers the preview it returns.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent import logs, photos, screenshots, spend
from agent.commands import TIMED_OUT, CommandResult, describe_checks, release
from agent.context import Deps, blocking, new_build_id
from agent.deps_cache import InstallFailed
from agent.guard.changes import ForbiddenChange, check_changes, snapshot
from agent.hosting import HostingError
from agent.messages import Raw, clip, render
from agent.repo import GitError
from agent.repo_config import RepoConfig, RepoConfigError, load_repo_config
from agent.state import ChatState, Preview

if TYPE_CHECKING:
    from agent.coder import CoderConfig

log = logging.getLogger(__name__)

PHASES = ("Getting your app ready", "Making the change", "Checking it works", "Building a preview")


class RequestFailed(Exception):
    """A request ended without a preview; `message` is what the requester reads."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Progress:
    """What the status card shows."""

    request: str
    phase: int = 0
    failed: bool = False
    started: float = field(default_factory=time.monotonic)
    stop_data: str = ""
    outcome: str = ""  # "", then "done", "stopped" or "failed": the card's final heading

    def render(self) -> tuple[str, list[tuple[str, str]] | None]:
        lines = []
        for i, label in enumerate(PHASES):
            name = "phase_done" if i < self.phase else "phase_todo"
            if i == self.phase:
                name = "phase_failed" if self.failed else "phase_doing"
            lines.append(render(name, label=label))
        finished = self.phase >= len(PHASES) or self.failed or bool(self.outcome)
        elapsed = f"{int(time.monotonic() - self.started)} s"
        text = render(
            f"working_{self.outcome}" if self.outcome else "working",
            request=clip(self.request, 200),
            phases=Raw("\n".join(lines)),
            elapsed=elapsed,
        )
        return text, None if finished else [("⏹ Stop", self.stop_data)]


class Pipeline:
    """One request from the chat's work tree to a published preview (no Telegram but the card)."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def make_preview(
        self, state: ChatState, text: str, progress: Progress, card, images=(), caption=""
    ) -> Preview | None:
        deps, chat_id = self.deps, state.chat_id
        repo = deps.repo_for(chat_id)
        try:
            origin_main = await blocking(repo.sync)
        except GitError as exc:
            log.error("sync failed: %s", exc)
            raise RequestFailed(
                render("failed", pending_note="", reason="I couldn't reach the app's code.")
            ) from exc
        base = state.pending.commit if state.pending else origin_main
        build_id = new_build_id()
        logs.bind(request=build_id)
        await blocking(repo.start_branch, f"preview/{build_id}", base)
        try:
            config = load_repo_config(repo.path)
        except RepoConfigError as exc:
            raise RequestFailed(
                render(
                    "failed", pending_note="", reason=f"The app's Shipit settings are broken: {exc}"
                )
            ) from exc
        if config.install:  # the base version's own dependencies: network allowed
            await self._install(config.install, repo.path)

        progress.phase = 1
        await card.refresh(force=True)
        coder = self._coder_config(chat_id, repo.path, config)
        # Lazily, like the coder: the policy's shell parser costs ~0.4 s before the first card.

        before = await blocking(snapshot, repo.path)  # the whole tree, ignored files too
        ask = text
        if images:  # Claude sees the pictures as images (streaming input, content blocks)
            ask = photos.model_text(caption, state.pending is not None)
        prompt = f"{state.context_note}\n\n{ask}" if state.context_note else ask
        if images:
            prompt = photos.ImagePrompt(prompt, list(images))
        run = await self._code(state, prompt, repo.path, coder, card)
        state.context_note = None
        deps.store.save_chat(state)
        if not self._changes(repo, config, before):
            # Finished: a question or an answer, no Stop button.
            progress.phase, progress.outcome = len(PHASES), "done"
            await card.refresh(force=True)
            template = "question" if run.answer.rstrip().endswith("?") else "nothing_changed"
            await deps.chat.send(
                chat_id,
                render(template, answer=clip(run.answer or "I wasn't sure what to change.")),
            )
            return None

        progress.phase = 2
        await card.refresh(force=True)
        checks = await self._validate(state, config, repo, coder, card, before)
        summary = run.answer if checks[1] is None else checks[1]
        message = f"{clip(text, 72)}\n\nRequested via Shipit; preview {build_id}"
        commit = await blocking(repo.commit_all, message, config.output)
        if commit is None:
            raise RequestFailed(render("nothing_changed", answer=clip(summary)))

        progress.phase = 3
        await card.refresh(force=True)
        built = None
        if config.build:
            built = await self._run_or_fail(
                config.build, repo.path, "build", artifact=config.output
            )
        output = built.artifact if built and built.artifact else repo.path / config.output
        try:
            url = await blocking(deps.hosting.publish, build_id, output, config.spa)
            page = screenshots.pick_page(
                await blocking(repo.diff_stat, base, commit),
                await blocking(screenshots.built_files, output),
                config.screenshot_pages,
            )
        except HostingError as exc:
            raise RequestFailed(render("publish_failed", reason=exc.problem)) from exc
        finally:
            if built is not None:
                release(built)
        return Preview(
            page=page,
            id=build_id,
            branch=f"preview/{build_id}",
            commit=commit,
            url=url,
            summary=summary,
            request=text,
            created_at=time.time(),
            checks=describe_checks(checks[0]),
            setup="; ".join(config.inferred),
            request_id=state.busy_id or "",
        )

    async def _code(self, state: ChatState, prompt: str, repo, coder: CoderConfig, card):
        async def on_tool(_name, _input):
            await card.refresh()

        # Imported here, not at the top: the SDK costs ~0.6-1 s to import, and the status card
        # must not wait for it (bench/lifecycle_bench.py measures start → first card).
        from agent.coder import CoderError, CoderLimitError, CoderTimeout, run_coder

        try:
            run = await run_coder(prompt, repo, coder, resume=state.claude_session, on_tool=on_tool)
        except CoderTimeout as exc:
            reason = f"The change took longer than {duration(exc.seconds)}, so I stopped it."
            raise RequestFailed(render("failed", pending_note="", reason=reason)) from exc
        except CoderLimitError as exc:
            raise RequestFailed(
                render(
                    "failed",
                    pending_note="",
                    reason="The change took more work than I'm allowed for one request. Try asking for a smaller step.",
                )
            ) from exc
        except CoderError as exc:
            log.error("claude failed: %s", exc)
            raise RequestFailed(
                render(
                    "failed",
                    pending_note="",
                    reason="The AI model didn't answer. Please try again in a minute.",
                )
            ) from exc
        state.claude_session = run.session_id or state.claude_session
        self.deps.store.save_chat(state)
        request = state.busy_request or ""
        await blocking(
            spend.record, self.deps.store, state.chat_id, run.cost_usd, request, state.requester
        )
        return run

    def _changes(self, repo, config: RepoConfig, before: dict) -> list[str]:

        try:
            return check_changes(repo.path, config, before, self.deps.secret_paths)
        except ForbiddenChange as exc:
            log.warning("refusing changes %s: %s", exc.paths, exc.reasons)
            reason = (
                "The change touched parts of the app I'm not allowed to change, so I threw it away."
            )
            raise RequestFailed(render("failed", pending_note="", reason=reason)) from exc

    async def _validate(
        self, state, config: RepoConfig, repo, coder, card, before: dict
    ) -> tuple[CommandResult, str | None]:
        """Run the repo's checks; on failure let Claude fix and re-run, at most `fix_rounds` times."""
        settings = self.deps.settings
        if not config.validate:
            return CommandResult("", 0, "no checks configured", 0.0), None
        summary = None
        for round_no in range(settings.fix_rounds + 1):
            result = await blocking(self.deps.run, config.validate, repo.path)
            self._changes(repo, config, before)
            if result.ok:
                return result, summary
            if round_no == settings.fix_rounds:
                break
            # No git in the box: Shipit hands the model its own change to look at.
            diff = await blocking(repo.change_diff, config.allowed_paths)
            fix = (
                f"The checks (`{config.validate}`) failed after your change. Fix the change so they "
                f"pass; do not weaken or skip the checks. Output:\n\n{result.output[-3000:]}"
                f"\n\nYour change so far (from Shipit):\n\n{diff[-4000:]}"
            )
            run = await self._code(state, fix, repo.path, coder, card)
            summary = run.answer or summary
        pending_note = render("pending_note") if state.pending else ""
        raise RequestFailed(
            render("checks_failed", pending_note=pending_note, reason=describe_checks(result))
        )

    async def _install(self, command: str, repo) -> None:
        """Packages from the dependency cache (installed once per lockfile), else in place."""
        packages = self.deps.packages()
        if not packages.handles(repo):
            await self._run_or_fail(command, repo, "install", network=True)
            return
        try:
            done = await blocking(packages.prepare, repo, command)
        except InstallFailed as exc:
            log.error("install failed: %s", exc.result.output[-2000:])
            raise RequestFailed(render("build_failed", reason="The install step failed.")) from exc
        how = "reused" if done.cached else "installed"
        log.info("packages %s %s in %.2f s", done.key, how, done.seconds)

    async def _run_or_fail(
        self, command: str, repo, what: str, network=False, artifact: str = ""
    ) -> CommandResult:
        result = await blocking(self.deps.run, command, repo, network, artifact)
        if not result.ok:
            log.error("%s failed: %s", what, result.output[-2000:])
            reason = f"The {what} step failed."
            if result.returncode == TIMED_OUT:
                limit = duration(self.deps.settings.command_timeout_s)
                reason = f"The {what} step took longer than {limit}, so I stopped it."
            raise RequestFailed(render("build_failed", reason=reason))
        return result

    def _coder_config(self, chat_id: int, repo, config: RepoConfig) -> CoderConfig:
        from agent.coder import coder_config  # lazily: see _code

        deps = self.deps
        transcripts = deps.transcripts(chat_id)
        return coder_config(
            repo, config, deps.cli_box, transcripts, deps.secret_paths, deps.settings
        )


def duration(seconds: float) -> str:
    """'15 minutes', '1 minute', '40 seconds': a wall clock in plain words."""
    if seconds >= 90:
        minutes = round(seconds / 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    whole = max(1, round(seconds))
    return f"{whole} second{'s' if whole != 1 else ''}"
