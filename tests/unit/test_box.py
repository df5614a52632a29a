"""The OS box on every rung this machine can build: what code run inside it can and cannot reach.

Each case runs real commands (sh, cat, node) inside the real box, as the repo's checks would run
code the agent wrote, and asserts what an attacker would try to get at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from agent.commands import TIMED_OUT, CommandRunner
from agent.guard.box import Box
from agent.guard.env import tool_path, toolchain_dirs
from agent.guard.rungs import (
    Isolation,
    Rung,
    SandboxUnavailable,
    bwrap_works,
    landlock_abi,
    probe,
)
from local.servers import serve_in_thread

if not (shutil.which("bwrap") and shutil.which("socat")):
    if os.environ.get("CI"):
        pytest.fail("CI must install bubblewrap and socat (see .ci/run)", pytrace=False)
    pytest.skip("bubblewrap/socat not installed on this machine", allow_module_level=True)

SECRET = "planted-SECRET-4242"
NOBODY = "65534"


def setuid_bwrap(folder: Path) -> Path:
    """A setuid-root copy of bwrap, as the container image ships it."""
    copy = folder / "bwrap-suid"
    shutil.copy2(shutil.which("bwrap"), copy)
    copy.chmod(0o4755)
    return copy


RUNGS = ["bubblewrap", "bubblewrap-setuid", "landlock"]


@pytest.fixture(params=RUNGS)
def rung(request, tmp_path_factory):
    name = request.param
    if name == "landlock" and landlock_abi() < 4:
        pytest.fail(f"this kernel's Landlock ABI is {landlock_abi()}; the suite needs >= 4")
    if name == "bubblewrap-setuid":
        folder = tmp_path_factory.mktemp("suid")
        folder.chmod(0o755)
        return probe(name, setuid_bwrap=setuid_bwrap(folder))
    return probe(name)


@pytest.fixture
def layout(tmp_path, monkeypatch, rung):
    isolation = rung
    monkeypatch.setenv("SHIPIT_BOT_TOKEN", SECRET)  # in Shipit's own environment
    tmp_path.chmod(0o755)
    workspace = tmp_path / "workspace"
    repo = workspace / "chats" / "1" / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "config").write_text(f"[url]\n  token = {SECRET}\n")
    (repo / "src").mkdir()
    (repo / "src" / "app.js").write_text("export const x = 1;\n")
    (repo / ".env").write_text(f"API_KEY={SECRET}\n")
    (repo / "config").mkdir()
    (repo / "config" / "server.key").write_text(SECRET)
    (repo / "package.json").write_text('{"name": "app"}\n')
    other = workspace / "chats" / "2"
    other.mkdir(parents=True)
    (other / "state.json").write_text(SECRET)
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "deploy_key").write_text(SECRET)
    runs = tmp_path / "runs"
    runner = CommandRunner(Box(isolation, toolchain_dirs()), runs, timeout_s=20)
    return runner, repo


def run(layout, command: str, timeout_s: float = 20):
    runner, repo = layout
    runner.timeout_s = timeout_s
    return runner.run(command, repo)


def test_secret_files_in_the_tree_are_masked(layout):
    result = run(layout, "cat .env config/server.key 2>&1; echo; ls -a")
    assert result.ok, result.output
    assert SECRET not in result.output
    assert "src" in result.output  # the ordinary tree is there


def test_no_git_history_or_config(layout):
    result = run(layout, "cat .git/config 2>&1; ls .git 2>&1; echo done")
    assert SECRET not in result.output and "done" in result.output


def test_other_chats_keys_and_shipit_environment_are_out_of_reach(layout, tmp_path):
    paths = [
        tmp_path / "keys" / "deploy_key",
        tmp_path / "workspace" / "chats" / "2" / "state.json",
    ]
    reads = " ".join(f"cat {p} 2>&1;" for p in paths)
    result = run(layout, f"{reads} cat /proc/{os.getpid()}/environ 2>&1; env; cat /proc/1/environ")
    assert SECRET not in result.output
    assert "SHIPIT_BOT_TOKEN" not in result.output


def test_writes_outside_the_copy_never_reach_the_tree(layout):
    _, repo = layout
    result = run(layout, "echo x > .npmrc; echo y > src/planted.js; rm -rf src; echo done")
    assert "done" in result.output
    assert not (repo / ".npmrc").exists() and not (repo / "src" / "planted.js").exists()
    assert (repo / "src" / "app.js").exists()


def test_no_network_for_checks(layout):
    hits = []

    async def steal(request):
        hits.append(str(request.url))
        return PlainTextResponse("got it")

    server = serve_in_thread(Starlette(routes=[Route("/steal", steal)]))
    try:
        script = (
            f"require('http').get('{server.url}/steal', r => console.log('status', r.statusCode))"
            ".on('error', e => console.log('blocked', e.code))"
        )
        result = run(layout, f'node -e "{script}"')
        assert "blocked" in result.output, result.output
        assert hits == []
    finally:
        server.stop()


def test_checks_run_the_node_shipit_finds_first(layout):
    """The box shows the toolchain read-only and runs the node (and npm on it) that Shipit's own
    PATH finds first: a newer Node in a prefix of its own, not an older /usr/bin/node."""
    host = shutil.which("node")
    version = subprocess.run([host, "--version"], capture_output=True, text=True).stdout.strip()
    result = run(layout, "command -v node; node --version; npm version --json")
    assert result.ok, result.output
    lines = result.output.splitlines()
    assert lines[:2] == [host, version]
    assert f'"node": "{version.removeprefix("v")}"' in result.output  # npm runs on that node


def test_tool_path_puts_the_found_node_before_the_system_dirs(tmp_path, monkeypatch):
    prefix = tmp_path / "node24"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "node").write_text("#!/bin/sh\necho v24.0.0\n")
    (prefix / "bin" / "node").chmod(0o755)
    monkeypatch.setenv("PATH", f"{prefix / 'bin'}:/usr/bin:/bin")
    assert tool_path().split(":")[0] == str(prefix / "bin")
    assert prefix in toolchain_dirs()


def test_a_spinning_check_is_killed_with_all_its_children(layout):
    token = uuid.uuid4().hex
    result = run(layout, f"sh -c 'sleep 1000 # {token}' & while :; do :; done", timeout_s=2)
    assert result.returncode == TIMED_OUT
    assert "stopped after 2 s" in result.output
    left = subprocess.run(["pgrep", "-f", token], capture_output=True, text=True).stdout
    assert left == "", f"processes of the check survived: {left}"


def test_a_forced_rung_that_cannot_be_built_fails_closed(tmp_path, monkeypatch):
    broken = tmp_path / "bin"
    broken.mkdir()
    (broken / "bwrap").write_text(
        "#!/bin/sh\necho 'No permissions to create new namespace' >&2\nexit 1\n"
    )
    (broken / "bwrap").chmod(0o755)
    monkeypatch.setenv("PATH", f"{broken}:{os.environ['PATH']}")
    with pytest.raises(SandboxUnavailable) as error:
        probe("bubblewrap")
    assert "namespace" in error.value.problem


def test_auto_falls_back_to_the_setuid_bwrap_then_landlock(tmp_path, monkeypatch):
    """Where unprivileged namespaces are off (the plain bwrap is refused), the setuid copy is
    the next rung; without it, Landlock."""
    suid = setuid_bwrap(tmp_path)
    broken = tmp_path / "bin"
    broken.mkdir()
    (broken / "bwrap").write_text("#!/bin/sh\nexit 1\n")
    (broken / "bwrap").chmod(0o755)
    monkeypatch.setenv("PATH", f"{broken}:{os.environ['PATH']}")
    chosen = probe("auto", setuid_bwrap=suid)
    assert chosen.rung is Rung.BUBBLEWRAP_SETUID
    assert any(note.startswith("bubblewrap:") for note in chosen.why_not_stronger)
    fallback = probe("auto", setuid_bwrap=tmp_path / "missing")
    assert fallback.rung is Rung.LANDLOCK


def test_the_setuid_bwrap_builds_the_box_for_a_non_root_user():
    """AgentCore's agent runs as a non-root user, where the setuid copy is the bubblewrap rung."""
    folder = Path(tempfile.mkdtemp(prefix="shipit-suid-"))  # reachable by that user
    try:
        folder.chmod(0o755)
        assert bwrap_works(str(setuid_bwrap(folder)), as_user=NOBODY) is None
    finally:
        shutil.rmtree(folder)


def test_none_is_no_box():
    assert not probe("none").boxed
    assert not Isolation(Rung.NONE).boxed
