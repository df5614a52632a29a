"""What every step of a chat's journey needs: settings, state, Telegram, hosting, the repo."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from agent.chat import Chat
from agent.commands import CommandResult, Sandbox, run_command
from agent.deps_cache import DepsCache
from agent.hosting import Hosting
from agent.repo import Repo
from agent.secrets import DeployKey
from agent.settings import Settings
from agent.state import StateStore
from agent.tool_env import command_env


@dataclass
class Deps:
    """Clients and settings passed in (tests and the local stack build the same object)."""

    settings: Settings
    store: StateStore
    chat: Chat
    hosting: Hosting
    deploy_key: DeployKey | None = None
    cli_wrapper: Path | None = None
    cli_env: dict[str, str] = field(default_factory=dict)  # the CLI's whole environment
    screen: object | None = None  # agent.screening.Screen, when input screening is configured
    secret_paths: tuple[Path, ...] = ()
    sandbox: Sandbox | None = None  # bubblewrap for the repo's own commands, where installed

    def run(self, command: str, cwd: Path, network: bool = False) -> CommandResult:
        """Run one of the repo's own commands with Shipit's clean environment."""
        env = command_env(self.store.workspace / "home")
        timeout = self.settings.command_timeout_s
        return run_command(command, cwd, env, timeout, self.sandbox, network)

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
