"""The self-check, end to end in the local stack: first start after a deploy, /selftest, a ❌ with advice."""

from __future__ import annotations

import json
import subprocess

from tests.e2e.conftest import USER, Script

ITEMS = (
    "Workspace storage",
    "Sandbox for the agent",
    "Agent user",
    "Claude model",
    "Telegram webhook",
    "Site hosting",
    "Access to the app's code",
    "The app's checks and build on main",
)


def _reports(tg) -> list[dict]:
    return [m for m in tg.bot_messages(USER) if "Shipit self-check" in m["text"]]


def _line(report: dict, item: str) -> str:
    (line,) = [ln for ln in report["text"].splitlines() if f" {item}: " in ln]
    return line


def _break_main(origin, tmp_path) -> None:
    work = tmp_path / "breaker"
    run = lambda *a: subprocess.run(a, cwd=work, check=True, capture_output=True)  # noqa: E731
    subprocess.run(["git", "clone", "-q", str(origin), str(work)], check=True)
    (work / "tests" / "broken.test.js").write_text(
        "import test from 'node:test';\nimport assert from 'node:assert';\n"
        "test('offsets add up', () => assert.strictEqual(1, 2));\n"
    )
    run("git", "add", ".")
    run("git", "-c", "user.name=Someone", "-c", "user.email=s@example.com", "commit", "-qm", "oops")
    run("git", "push", "-q", "origin", "HEAD:main")


def test_first_start_reports_everything_once_then_selftest_shows_a_failure(start_stack, tmp_path):
    env = {"SHIPIT_OWNER_CHAT_ID": str(USER), "SHIPIT_DEPLOYED_VERSION": "image-abc123"}
    stack = start_stack(Script([]), agent_env=env)
    tg = stack.telegram.client()

    # Any first message wakes the runtime; the report arrives next to the normal answer.
    tg.send_text(USER, "/help")
    first = tg.wait_for_text(USER, "Shipit self-check", timeout=120)
    assert (
        "first start after a deploy, version image-abc123" in first["text"]
        and "image-abc123" in first["text"]
    )
    for item in ITEMS:
        line = _line(first, item)
        assert line[0] in "✅⚠", line  # nothing broken on a healthy stack
    assert "✅ Telegram webhook: registered with the stack's URL" in first["text"]
    assert "checks and build on main: `node --test`, `node build.js` pass" in first["text"]
    assert f"All {len(ITEMS)} checks passed" in first["text"]
    marker = stack.workspace / "selfcheck" / "image-abc123.json"
    assert json.loads(marker.read_text())["results"]["Claude model"] == "OK"
    # The one tiny request went through the model proxy to the (scripted) model.
    assert any(r.get("max_tokens") == 1 for r in stack.model.requests)

    # The same version starting again does not report again.
    stack.restart_agent()
    tg.send_text(USER, "/help")
    tg.wait_for(USER, lambda ms: [m for m in ms if m["from_bot"]][2:] or None, timeout=30)
    assert len(_reports(tg)) == 1
    marker_written = marker.stat().st_mtime_ns

    # main breaks: /selftest from the owner shows it as ❌ with what to do.
    _break_main(stack.origin, tmp_path)
    tg.send_text(USER, "/selftest")
    tg.wait_for(USER, lambda ms: _reports(tg)[1:] or None, timeout=120)
    second = _reports(tg)[1]
    assert "on request (/selftest)" in second["text"]
    for item in ITEMS:
        _line(second, item)  # every item is reported again
    broken = _line(second, "The app's checks and build on main")
    assert broken.startswith("❌ The app's checks and build on main: the checks step")
    assert "`node --test`) failed on main" in broken and "offsets add up" in broken
    after = second["text"].split(broken, 1)[1].splitlines()[1]
    assert after.strip().startswith("👉 Fix main first")
    assert "1 ❌ need you" in second["text"]
    # The failure is also an ERROR line in the agent's JSON logs (what the AgentErrors alarm counts).
    log_text = (stack.root / "agent.log").read_text()
    log_lines = [json.loads(x) for x in log_text.splitlines() if x.startswith("{")]
    errors = [x for x in log_lines if x["level"] == "ERROR" and "self-check FAIL" in x["message"]]
    assert errors and errors[-1]["chat_id"] == USER
    # Two runs in all (first start, /selftest): the restart of the same version ran none.
    assert sum("self-check finished" in x["message"] for x in log_lines) == 2
    assert len(_reports(tg)) == 2 and marker.stat().st_mtime_ns == marker_written
    print(second["text"])
