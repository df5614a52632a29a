"""Run the target repo's own commands (install, validate, build) with Shipit's clean environment."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

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


def run_command(command: str, cwd: Path, env: dict[str, str], timeout_s: int) -> CommandResult:
    """Run `command` through /bin/sh in `cwd`; output is stdout+stderr, tail only."""
    started = time.monotonic()
    try:
        proc = subprocess.run(
            ["/bin/sh", "-c", command],
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
