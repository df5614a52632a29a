"""Ordinary work through the same wiring still succeeds: reading, editing src/, running the checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from agent.commands import CommandResult, describe_checks
from tests.adversarial.harness import (
    OK,
    Call,
    Case,
    Session,
    bash,
    covered,
    disallowed_offered,
    edit,
    leaked_secrets,
    read,
    write,
)

EXTRA_TEST = """\
import assert from "node:assert/strict";
import { test } from "node:test";
import { roundFeet } from "../src/offset.js";

test("lengths round to two decimals", () => {
  assert.equal(roundFeet(2.8284), 2.83);
});
"""


@dataclass(frozen=True)
class Work:
    """A legitimate session: its calls (all must succeed) and what it must leave behind."""

    id: str
    calls: tuple[Call, ...]
    changed: tuple[str, ...] = ()  # root-relative paths that must change, and only these
    variant: str = "default"
    check: Callable[[Case, Session], None] | None = None

    def __str__(self) -> str:
        return self.id


def _style_changed(case: Case, _session: Session) -> None:
    assert "#0b5" in (case.ws.repo / "src" / "style.css").read_text()


def _tests_ran(count: int) -> Callable[[Case, Session], None]:
    """All `count` tests ran and passed, counted as Shipit counts them (TAP or spec reporter)."""

    def check(_case: Case, session: Session) -> None:
        text = session.results[-1]["text"]
        result = CommandResult("node --test", 0, text, 0.0)
        assert describe_checks(result) == f"all {count} checks passed", text

    return check


def _edit_seen(_case: Case, session: Session) -> None:
    shown, found = (r["text"] for r in session.results[2:])
    assert "color: #0b5;" in shown and "color: #0b5;" in found


def _searched(_case: Case, session: Session) -> None:
    texts = [r["text"] for r in session.results]
    assert "offset.js" in texts[0] and "export function travel" in texts[1]
    assert "offset.js" in texts[2] and "app.js" in texts[3]


def _shipit_builds_it(case: Case, _session: Session) -> None:
    """The agent never builds (its box has no writable repo root); Shipit's own boxed build of
    the edited tree must work and carry the change."""
    result = case.harness.commands.run("node build.js", case.ws.repo, artifact="dist")
    assert result.ok and result.artifact is not None, result.output
    assert "#0b5" in (result.artifact / "style.css").read_text()
    assert (result.artifact / "index.html").is_file()
    assert not (case.ws.repo / "dist" / "index.html").exists()  # built in a scratch copy


WORK = [
    Work(
        "read-and-edit-src",
        (
            read("<REPO>/src/style.css"),
            edit("<REPO>/src/style.css", "  color: #111;", "  color: #0b5;", expect=OK),
        ),
        changed=("repo/src/style.css",),
        check=_style_changed,
    ),
    Work("run-validation", (bash("node --test", OK),), check=_tests_ran(8)),
    Work(
        "inspect-own-edit",
        (
            read("<REPO>/src/style.css"),
            edit("<REPO>/src/style.css", "  color: #111;", "  color: #0b5;", expect=OK),
            bash("cat src/style.css", OK),
            bash("grep -n color src/style.css", OK),
        ),
        changed=("repo/src/style.css",),
        check=_edit_seen,
    ),
    Work(
        "search-inside-repo",
        (
            bash("ls src", OK),
            bash("grep -n travel src/offset.js", OK),
            Call("Grep", {"pattern": "travel", "path": "<REPO>/src"}, OK),
            Call("Glob", {"pattern": "src/*.js"}, OK),
        ),
        check=_searched,
    ),
    Work(
        "new-test-file",
        (
            write("<REPO>/tests/rounding.test.js", EXTRA_TEST, expect=OK),
            bash("node --test", OK),
        ),
        changed=("repo/tests/rounding.test.js",),
        check=_tests_ran(9),
    ),
    Work(
        "edit-then-shipit-builds",
        (edit("<REPO>/src/style.css", "  color: #111;", "  color: #0b5;", expect=OK),),
        changed=("repo/src/style.css",),
        check=_shipit_builds_it,
    ),
    Work(
        "src-only-edit",
        (write("<REPO>/src/notes.js", "export const NOTE = 'ok';\n", expect=OK),),
        changed=("repo/src/notes.js",),
        variant="src-only",
    ),
]


@pytest.mark.legitimate
@pytest.mark.parametrize("work", WORK, ids=str)
def test_legitimate_work_succeeds(work: Work, new_case) -> None:
    case = new_case(variant=work.variant)
    session = case.harness.session(case.ws.repo, [c.step(case.subs) for c in work.calls])
    where = f"{work.id}\n{session.describe()}"
    assert session.error is None, where
    assert len(session.results) == len(work.calls), where
    assert not any(r["is_error"] for r in session.results), f"a call failed: {where}"
    assert not session.denied_ids, f"something was denied: {where}"
    changed = case.unexplained_changes()
    stray = [p for p in changed if not covered(p, work.changed)]
    assert not stray, f"unexpected changes: {stray}\n{where}"
    missing = [e for e in work.changed if not any(covered(p, [e]) for p in changed)]
    assert not missing, f"expected changes missing: {missing}\n{where}"
    assert not case.exfil_hits()
    assert not leaked_secrets(session)
    assert not disallowed_offered(session)
    if work.check:
        work.check(case, session)
