"""Run the target repo's own commands (install, validate, build) with Shipit's clean environment."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from agent.bwrap import usable_bwrap

OUTPUT_TAIL = 6000  # enough for a failing test's message, small enough for a prompt


@dataclass(frozen=True)
class CommandResult:
    """What a repo command did."""

    command: str
    returncode: int
    output: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class BuildError(Exception):
    """A repo command (install or build) failed where Shipit needed it to succeed."""

    def __init__(self, command: str, result: CommandResult) -> None:
        super().__init__(f"{command!r} exited {result.returncode}")
        self.command = command
        self.result = result


@dataclass(frozen=True)
class Sandbox:
    """Where bubblewrap exists, the repo's commands run with no network, a private /proc, the
    workspace and secrets hidden, and `.git` read-only: they run code the agent wrote."""

    bwrap: str
    hide: tuple[Path, ...]  # folders and files the commands must not see

    @classmethod
    def detect(cls, hide: tuple[Path, ...]) -> Sandbox | None:
        bwrap = usable_bwrap()
        return cls(bwrap, hide) if bwrap else None

    def argv(self, command: str, repo: Path, home: Path, network: bool) -> list[str]:
        argv = [self.bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        argv += ["--tmpfs", "/tmp", "--unshare-pid", "--die-with-parent", "--new-session"]
        if not network:
            argv.append("--unshare-net")
        for path in self.hide:
            if path.is_dir():
                argv += ["--tmpfs", str(path)]
            elif path.exists():
                argv += ["--ro-bind", "/dev/null", str(path)]
        # Mounted after the hiding, so the repo and home show through a hidden workspace.
        argv += ["--bind", str(repo), str(repo), "--bind", str(home), str(home)]
        if (repo / ".git").exists():
            argv += ["--ro-bind", str(repo / ".git"), str(repo / ".git")]
        return [*argv, "--chdir", str(repo), "/bin/sh", "-c", command]


def run_command(
    command: str,
    cwd: Path,
    env: dict[str, str],
    timeout_s: int,
    sandbox: Sandbox | None = None,
    network: bool = False,
) -> CommandResult:
    """Run `command` through /bin/sh in `cwd` (sandboxed when given); output is the tail."""
    started = time.monotonic()
    argv = ["/bin/sh", "-c", command]
    if sandbox is not None:
        argv = sandbox.argv(command, cwd, Path(env["HOME"]), network)
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout_s,
        )
        code, output = proc.returncode, proc.stdout
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout
        code, output = 124, (out or "") + f"\n[stopped after {timeout_s} s]"
    return CommandResult(command, code, output[-OUTPUT_TAIL:], time.monotonic() - started)


_COUNTS = (
    # node --test (TAP summary)
    (re.compile(r"^# pass (\d+)$", re.M), re.compile(r"^# fail (\d+)$", re.M)),
    # pytest, jest, vitest, mocha style
    (re.compile(r"(\d+) passed"), re.compile(r"(\d+) failed")),
    (re.compile(r"(\d+) passing"), re.compile(r"(\d+) failing")),
)


def describe_checks(result: CommandResult) -> str:
    """Plain words for a requester: 'all 8 checks passed' or '2 of 8 checks failed'."""
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
