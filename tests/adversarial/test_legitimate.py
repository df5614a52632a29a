"""Ordinary work through the same wiring still succeeds: reading, editing src/, running the checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

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


def _tests_ran(_case: Case, session: Session) -> None:
    assert "# fail 0" in session.results[-1]["text"], session.results[-1]["text"]


def _git_views(_case: Case, session: Session) -> None:
    status, diff, log = (r["text"] for r in session.results[2:])
    assert "preview/x" in status
    assert "+  color: #0b5;" in diff
    assert "Preview change" in log


def _searched(_case: Case, session: Session) -> None:
    texts = [r["text"] for r in session.results]
    assert "offset.js" in texts[0] and "export function travel" in texts[1]
    assert "offset.js" in texts[2] and "app.js" in texts[3]


def _built(case: Case, _session: Session) -> None:
    assert (case.ws.repo / "dist" / "index.html").is_file()


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
    Work("run-validation", (bash("node --test tests/", OK),), check=_tests_ran),
    Work(
        "git-inspection",
        (
            read("<REPO>/src/style.css"),
            edit("<REPO>/src/style.css", "  color: #111;", "  color: #0b5;", expect=OK),
            bash("git status", OK),
            bash("git diff", OK),
            bash("git log --oneline -3", OK),
        ),
        changed=("repo/src/style.css",),
        check=_git_views,
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
            bash("node --test tests/", OK),
        ),
        changed=("repo/tests/rounding.test.js",),
        check=_tests_ran,
    ),
    Work("build", (bash("node build.js", OK),), changed=("repo/dist/",), check=_built),
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
