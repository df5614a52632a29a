"""One run of the `claude` CLI inside the box: a grant, a fresh home, a wrapper, transcripts.

The SDK starts the CLI as `cli_path`; for each run that is a small shell script written here which
records its pid (so Shipit's wall clock can kill the whole box) and execs the box around the real
CLI. The CLI's config folder is fresh per run too: only the chat's conversation transcripts
(`projects/**/*.jsonl`) are copied in before and back out after, so nothing else the run writes
there (settings, hooks, MCP servers) outlives it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from agent.guard.box import MODEL_PORT, Box, quote, view_for
from agent.guard.budget import Grant
from agent.guard.env import SDK_VARIABLES, cli_env

TRANSCRIPTS = "projects"


@dataclass
class CliRun:
    """A prepared run: the wrapper to give the SDK, its grant, and a way to kill it."""

    wrapper: Path
    grant: Grant
    pidfile: Path

    def kill(self) -> None:
        """Kill the box and everything in it (bwrap's children die with it)."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        for target in (
            lambda: os.killpg(pid, signal.SIGKILL),
            lambda: os.kill(pid, signal.SIGKILL),
        ):
            with contextlib.suppress(OSError):
                target()


class CliBox:
    """Starts the CLI in the box; `proxy` is agent.model_proxy.ModelProxy (grants, socket)."""

    def __init__(
        self,
        box: Box,
        proxy,
        cli: Path,
        runs_dir: Path,
        model_env: Callable[[str], dict[str, str]],
    ) -> None:
        self.box = box
        self.proxy = proxy
        self.cli = cli
        self.runs_dir = runs_dir
        self.model_env = model_env

    @contextlib.contextmanager
    def run(
        self, repo: Path, writable: tuple[str, ...], transcripts: Path, cap_usd: float
    ) -> Iterator[CliRun]:
        """A run of the CLI on `repo`; the grant closes and the run's folder goes afterwards."""
        self.runs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder = Path(tempfile.mkdtemp(prefix="run-", dir=self.runs_dir))
        grant = self.proxy.open(cap_usd)
        try:
            config = folder / "claude"
            _copy_transcripts(transcripts, config)
            yield self._prepare(folder, config, repo, writable, grant)
            _copy_transcripts(config, transcripts)
        finally:
            self.proxy.close(grant)
            shutil.rmtree(folder, ignore_errors=True)

    def _prepare(self, folder: Path, config: Path, repo: Path, writable, grant: Grant) -> CliRun:
        box = self.box
        bridged = box.bridged
        bridges = ((self.proxy.socket_path, MODEL_PORT),) if bridged else ()
        base = f"http://127.0.0.1:{MODEL_PORT}" if bridged else self.proxy.url
        if not bridged:  # Landlock: the rules allow connecting to the proxy's TCP port only
            bridges = ((self.proxy.socket_path, int(self.proxy.url.rsplit(":", 1)[1])),)
        modules = repo / "node_modules"  # the dependency cache may link it from outside the tree
        linked = (modules.resolve(),) if modules.is_symlink() and modules.is_dir() else ()
        view = view_for(
            repo,
            folder / "home",
            writable,
            readonly=(self.cli, *linked),
            outside=(config,),
            bridges=bridges,
        )
        model = self.model_env(self.proxy.grant_url(grant, base))
        env = cli_env(box.home_in_box(view), box.tmp_in_box(view), str(config), model)
        argv = box.wrap(view, [str(self.cli)], env)
        pidfile = folder / "pid"
        wrapper = folder / "claude-in-box"
        script = (
            "#!/bin/sh\n# Written by Shipit: run the CLI inside the box.\n"
            f"echo $$ > {quote([str(pidfile)])}\n"
            f'exec {_with_sdk_variables(argv)} "$@"\n'
        )
        wrapper.write_text(script)
        wrapper.chmod(0o700)
        return CliRun(wrapper, grant, pidfile)


def _with_sdk_variables(argv: list[str]) -> str:
    """The wrapper's exec line: the SDK's own variables passed from the wrapper's environment
    into the innermost `env -i` (they tell the CLI it is driven by the SDK)."""
    passing = " ".join(f'${{{n}+"{n}=${n}"}}' for n in SDK_VARIABLES)
    line = quote(argv)
    marker = quote(["/usr/bin/env", "-i"])
    head, sep, tail = line.rpartition(marker)
    return f"{head}{sep} {passing}{tail}" if sep else line


def _copy_transcripts(source: Path, target: Path) -> None:
    """Copy conversation transcripts only: regular `.jsonl` files below projects/."""
    top = source / TRANSCRIPTS
    target.mkdir(parents=True, exist_ok=True)
    if not top.is_dir():
        return
    for path in top.rglob("*.jsonl"):
        if path.is_symlink() or not path.is_file():
            continue
        dest = target / TRANSCRIPTS / path.relative_to(top)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
