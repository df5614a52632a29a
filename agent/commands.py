"""Run the target repo's own commands (install, validate, build) inside the box, on a wall clock."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from agent.guard.box import EGRESS_PORT, Box, secret_files, view_for
from agent.guard.egress import EgressProxy
from agent.guard.env import command_env

OUTPUT_TAIL = 6000
TIMED_OUT = 124  # the exit code a command gets when its wall clock kills it


@dataclass(frozen=True)
class CommandResult:
    """What a repo command did."""

    command: str
    returncode: int
    output: str
    seconds: float
    artifact: Path | None = None  # the build output, kept on local disk when asked for

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class BuildError(Exception):
    """A repo command (install or build) failed where Shipit needed it to succeed."""

    def __init__(self, command: str, result: CommandResult) -> None:
        super().__init__(f"{command!r} exited {result.returncode}")
        self.command = command
        self.result = result


# Inside the install box the egress proxy's bridge listens here (its own network namespace).
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")
_PROXY_VARS += ("npm_config_https_proxy", "npm_config_proxy")
TOOL_CACHES = frozenset({".cache", ".vite", ".vitest"})


class CommandRunner:
    """Runs the repo's commands in the box, each with a fresh home and a wall clock.

    Checks and builds run code the agent wrote. They run in a scratch copy of the work tree on
    local disk (no .git, no secret-shaped files, node_modules shown read-only), writable as a
    whole so that ordinary tools work (`rm -rf dist`, coverage folders), and thrown away after:
    nothing they write reaches the real tree or outlives the command, and a build's output is
    taken from the copy by Shipit itself. Only the install step (the base version's own
    dependencies) runs on the real folder, writing node_modules, with the package registries
    reachable through the egress proxy. On expiry the command's whole process tree is killed.
    """

    def __init__(
        self, box: Box, runs_dir: Path, timeout_s: float, egress: EgressProxy | None = None
    ) -> None:
        self.box = box
        self.runs_dir = runs_dir
        self.timeout_s = timeout_s
        self.egress = egress

    def install(
        self, command: str, folder: Path, writable: tuple[str, ...] = ("node_modules/",)
    ) -> CommandResult:
        with self._scratch() as scratch:
            bridges = ()
            if self.egress is not None:
                port = self.box.loopback_port(EGRESS_PORT, self.egress.tcp_port)
                bridges = ((self.egress.socket_path, port),)
            view = view_for(folder, scratch / "home", writable, bridges=bridges)
            env = command_env(self.box.home_in_box(view), self.box.tmp_in_box(view))
            if bridges:
                env |= dict.fromkeys(_PROXY_VARS, f"http://127.0.0.1:{bridges[0][1]}")
            argv = self.box.wrap(view, ["/bin/sh", "-c", command], env)
            return run_command(argv, command, folder, self.timeout_s)

    def run(
        self, command: str, repo: Path, readonly: tuple[Path, ...] = (), artifact: str = ""
    ) -> CommandResult:
        """A check or build in a scratch copy; `artifact` (the output folder) is kept."""
        with self._scratch() as scratch:
            tree = scratch / "tree"
            copy_tree(repo, tree)
            view = view_for(tree, scratch / "home", ("",), (*readonly, *_linked(repo)))
            env = command_env(self.box.home_in_box(view), self.box.tmp_in_box(view))
            argv = self.box.wrap(view, ["/bin/sh", "-c", command], env)
            result = run_command(argv, command, tree, self.timeout_s)
            kept = tree / artifact if artifact else None
            if result.ok and kept is not None and kept.is_dir() and not kept.is_symlink():
                target = Path(tempfile.mkdtemp(prefix="build-", dir=self.runs_dir))
                kept.rename(target / "out")
                return replace(result, artifact=target / "out")
            return result

    @contextlib.contextmanager
    def _scratch(self):
        self.runs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder = Path(tempfile.mkdtemp(prefix="cmd-", dir=self.runs_dir))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def copy_tree(repo: Path, target: Path) -> None:
    """The work tree without .git and secret-shaped files. node_modules is a folder of links to
    the real entries (read-only in the box), not a copy, so tool caches (.vite, .cache) can
    still be written beside them."""
    secret = set(secret_files(repo))

    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = {n for n in names if Path(folder, n) in secret}
        if Path(folder) == repo:
            skip |= {".git", "node_modules"} & set(names)
        return skip

    shutil.copytree(repo, target, symlinks=True, ignore=ignore)
    modules = repo / "node_modules"
    if modules.is_dir():
        real = modules.resolve()
        (target / "node_modules").mkdir()
        for entry in sorted(real.iterdir()):
            if entry.name not in TOOL_CACHES:
                (target / "node_modules" / entry.name).symlink_to(entry)


def _linked(repo: Path) -> tuple[Path, ...]:
    """What the copy links to and the box must show read-only: the real node_modules."""
    modules = repo / "node_modules"
    return (modules.resolve(),) if modules.exists() else ()


def release(result: CommandResult) -> None:
    """Delete a kept build output once it is published."""
    if result.artifact is not None:
        shutil.rmtree(result.artifact.parent, ignore_errors=True)


def run_command(argv: list[str], command: str, cwd: Path, timeout_s: float) -> CommandResult:
    """Run `argv` in its own session; on the wall clock's expiry kill its whole process group."""
    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env={},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout_s)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        code = TIMED_OUT
        out = (out or b"") + f"\n[stopped after {timeout_s:.0f} s]".encode()
    output = out.decode("utf-8", errors="replace")
    return CommandResult(command, code, output[-OUTPUT_TAIL:], time.monotonic() - started)


_COUNTS = (
    # node --test: the TAP summary (`# pass 8`: Node 20 into a pipe) or the spec reporter's
    # (`ℹ pass 8`: the default everywhere since Node 23, nodejs/node#54548)
    (re.compile(r"^[#ℹ] pass (\d+)$", re.M), re.compile(r"^[#ℹ] fail (\d+)$", re.M)),
    # vitest: its "Tests" line counts tests ("Test Files" above it counts files)
    (
        re.compile(r"^\s*Tests\s+(?:\d+ failed \| )?(\d+) passed", re.M),
        re.compile(r"^\s*Tests\s+(\d+) failed", re.M),
    ),
    # pytest, jest, vitest, mocha style
    (re.compile(r"(\d+) passed"), re.compile(r"(\d+) failed")),
    (re.compile(r"(\d+) passing"), re.compile(r"(\d+) failing")),
)


def describe_checks(result: CommandResult) -> str:
    """Plain words for a requester: 'all 8 checks passed' or '2 of 8 checks failed'."""
    if result.returncode == TIMED_OUT:
        return "the checks ran too long, so I stopped them"
    for passed_re, failed_re in _COUNTS:
        passed = passed_re.search(result.output)
        if passed:
            failed = failed_re.search(result.output)
            n_pass, n_fail = int(passed.group(1)), int(failed.group(1)) if failed else 0
            total = n_pass + n_fail
            if n_fail:
                return f"{n_fail} of {total} checks failed"
            return f"all {total} checks passed" if total != 1 else "the 1 check passed"
    return "the checks passed" if result.ok else "the checks failed"
