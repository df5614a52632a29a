"""The repo's own commands run code the agent wrote: in the sandbox they see no secrets or network."""

import os
import shutil

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from agent.commands import Sandbox, run_command
from agent.tool_env import command_env
from local.servers import serve_in_thread

if not shutil.which("bwrap"):
    if os.environ.get("CI"):
        pytest.fail("CI must install bubblewrap (see .ci/run)", pytrace=False)
    pytest.skip("bubblewrap not installed on this machine", allow_module_level=True)


@pytest.fixture
def layout(tmp_path):
    workspace = tmp_path / "workspace"
    repo = workspace / "chats" / "1" / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "config").write_text("[core]\n")
    (workspace / "claude").mkdir()
    (workspace / "claude" / "transcript.jsonl").write_text("other chat's secrets")
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "deploy_key").write_text("-----BEGIN KEY-----")
    sandbox = Sandbox.detect((workspace, keys))
    env = command_env(workspace / "home")
    return repo, env, sandbox, workspace, keys


def run(cmd, layout, network=False):
    repo, env, sandbox, *_ = layout
    return run_command(cmd, repo, env, 30, sandbox, network)


def test_repo_is_writable_but_git_metadata_is_not(layout):
    repo = layout[0]
    assert run("echo ok > out.txt && cat out.txt", layout).output.strip() == "ok"
    result = run("echo '[core] fsmonitor = evil' > .git/config", layout)
    assert not result.ok
    assert (repo / ".git" / "config").read_text() == "[core]\n"


def test_secrets_and_other_chats_are_invisible(layout):
    _, _, _, workspace, keys = layout
    assert not run(f"cat {keys / 'deploy_key'}", layout).ok
    assert not run(f"cat {workspace / 'claude' / 'transcript.jsonl'}", layout).ok
    # Its own /proc: Shipit's process (and its environment) is not in it.
    assert run(f"cat /proc/{os.getpid()}/environ", layout).returncode != 0


def test_no_network_for_checks_and_builds(layout):
    hits = []

    async def steal(request):
        hits.append(str(request.url))
        return PlainTextResponse("got it")

    server = serve_in_thread(Starlette(routes=[Route("/steal", steal)]))
    try:
        script = f"require('http').get('{server.url}/steal', r => console.log('status', r.statusCode)).on('error', e => console.log('blocked', e.code))"
        result = run(f'node -e "{script}"', layout)
        assert "blocked" in result.output
        assert hits == []
        # The install step (the base version's dependencies) may use the network.
        assert "status 200" in run(f'node -e "{script}"', layout, network=True).output
        assert len(hits) == 1
    finally:
        server.stop()


def test_without_a_sandbox_commands_still_run(layout):
    repo, env, *_ = layout
    assert run_command("echo plain", repo, env, 30, None).output.strip() == "plain"
