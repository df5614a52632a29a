"""Containment through the whole local stack: fail closed without a box, opt-out said out loud,
the Landlock rung end to end, and wall clocks that kill what spins."""

from __future__ import annotations

import subprocess
import uuid

from local.scripted_claude import call, say, working_directory
from tests.e2e.conftest import USER, Script, edit_session, published_previews

SPIN_TEST = """\
import { test } from "node:test";
test("spins", () => { for (;;) {} }); // TOKEN
"""


def spinning_test(token: str):
    def write(request):
        path = f"{working_directory(request)}/tests/spin.test.js"
        return call("Write", file_path=path, content=SPIN_TEST.replace("TOKEN", token))

    return write


def survivors(token: str) -> str:
    return subprocess.run(["pgrep", "-f", token], capture_output=True, text=True).stdout


def test_without_a_box_change_requests_are_refused(start_stack):
    stack = start_stack(Script([]), agent_env={"SHIPIT_SANDBOX": "none"})
    tg = stack.telegram.client()
    tg.send_text(USER, "make the offset field bigger")
    reply = tg.wait_for_text(USER, "safety box", timeout=60)
    assert "Nothing has changed" in reply["text"]
    assert stack.model.requests == []  # the model was never asked
    assert published_previews(stack) == []
    tg.send_text(USER, "help")  # everything that needs no agent still works
    tg.wait_for_text(USER, "ship it", timeout=30)


def test_the_owners_opt_out_is_said_on_every_preview(start_stack):
    script = Script(edit_session("  font-size: 1rem;", "  font-size: 1.5rem;"))
    env = {"SHIPIT_SANDBOX": "none", "SHIPIT_ALLOW_UNSANDBOXED": "1"}
    stack = start_stack(script, agent_env=env)
    tg = stack.telegram.client()
    tg.send_text(USER, "make the offset field bigger")
    preview = tg.wait_for_text(USER, "Your preview is ready", timeout=90)
    assert "without its safety box" in preview["text"]


def test_the_landlock_rung_runs_the_whole_loop(start_stack):
    script = Script(edit_session("  font-size: 1rem;", "  font-size: 1.5rem;"))
    stack = start_stack(script, agent_env={"SHIPIT_SANDBOX": "landlock"})
    tg = stack.telegram.client()
    tg.send_text(USER, "make the offset field bigger")
    preview = tg.wait_for_text(USER, "Your preview is ready", timeout=90)
    assert "safety box" not in preview["text"]
    assert len(published_previews(stack)) == 1


def test_a_claude_run_past_its_wall_clock_is_killed_and_explained(start_stack):
    token = uuid.uuid4().hex
    script = Script([spinning_test(token), call("Bash", command="node --test", timeout=600000)])
    stack = start_stack(script, agent_env={"SHIPIT_CLAUDE_TIMEOUT_S": "4"})
    tg = stack.telegram.client()
    tg.send_text(USER, "make the offset field bigger")
    reply = tg.wait_for_text(USER, "took longer than 4 seconds", timeout=90)
    assert "Nothing live has changed" in reply["text"]
    assert survivors(token) == ""
    assert published_previews(stack) == []


def test_a_check_past_its_wall_clock_is_killed_and_explained(start_stack):
    token = uuid.uuid4().hex
    script = Script([spinning_test(token), say("Added a test.")])
    env = {"SHIPIT_COMMAND_TIMEOUT_S": "3", "SHIPIT_FIX_ROUNDS": "0"}
    stack = start_stack(script, agent_env=env)
    tg = stack.telegram.client()
    tg.send_text(USER, "make the offset field bigger")
    reply = tg.wait_for_text(USER, "ran too long", timeout=90)
    assert "haven't published it" in reply["text"]
    assert survivors(token) == ""
    assert published_previews(stack) == []
