"""What every step of a chat's journey needs: settings, state, Telegram, hosting, the repo."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from agent.chat import Chat
from agent.commands import CommandResult, CommandRunner
from agent.deps_cache import DepsCache
from agent.guard.cli import CliBox
from agent.guard.rungs import Isolation, Rung
from agent.hosting import Hosting
from agent.repo import Repo
from agent.secrets import DeployKey
from agent.settings import Settings
from agent.state import StateStore


@dataclass
class Deps:
    """Clients and settings passed in (tests and the local stack build the same object)."""

    settings: Settings
    store: StateStore
    chat: Chat
    hosting: Hosting
    cli_box: CliBox | None = None  # starts the CLI inside the box
    commands: CommandRunner | None = None  # runs the repo's commands inside the box
    isolation: Isolation = field(default_factory=lambda: Isolation(Rung.NONE))
    deploy_key: DeployKey | None = None
    screen: object | None = None  # agent.screening.Screen, when input screening is configured
    secret_paths: tuple[Path, ...] = ()
    screenshotter: object | None = None  # agent.screenshots.Screenshotter (browser elsewhere)
    inbox: object | None = None  # agent.inbox.Inbox: the relay's record of each chat's order

    def run(
        self, command: str, cwd: Path, network: bool = False, artifact: str = ""
    ) -> CommandResult:
        """Run one of the repo's own commands in the box: the install step (`network`) on the
        real folder, checks and builds in a scratch copy (`artifact`: the output to keep)."""
        if network:
            return self.commands.install(command, cwd)
        return self.commands.run(command, cwd, artifact=artifact)

    @property
    def may_run_agent(self) -> bool:
        """Fail closed: with no box, change requests run only if the owner opted out."""
        return self.isolation.boxed or self.settings.allow_unsandboxed

    def transcripts(self, chat_id: int) -> Path:
        """The chat's own Claude conversations (never another chat's)."""
        return self.store.chat_dir(chat_id) / "claude"

    def packages(self) -> DepsCache:
        """The dependency cache; installs go through `run` like every repo command."""
        s = self.settings
        return DepsCache(s.cache_dir / "deps", self.run, s.npm_seed_cache, s.install_offline)

    def repo_for(self, chat_id: int) -> Repo:
        return Repo(
            path=self.store.chat_dir(chat_id) / "repo",
            url=self.settings.repo_url,
            main=self.settings.main_branch,
            credentials=self.deploy_key.ssh_command if self.deploy_key else None,
        )


def new_build_id() -> str:
    """Short, sortable, URL-safe: 20261122-153012-a3f9."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


async def blocking(func, *args, **kwargs):
    """Run git, builds and uploads off the event loop so Telegram replies keep flowing."""
    return await asyncio.to_thread(partial(func, *args, **kwargs))
