"""OS sandbox rules: siblings up to the workspace, other chats and secrets are off limits."""

import shutil

import pytest

from agent.os_sandbox import sandbox_settings
from agent.repo_config import RepoConfig


@pytest.fixture
def workspace(tmp_path):
    ws = tmp_path / "workspace"
    repo = ws / "chats" / "1" / "repo"
    for folder in ("src", "tests", "dist", "node_modules", ".git", ".github"):
        (repo / folder).mkdir(parents=True)
    for name in (".shipit.toml", "CLAUDE.md", "build.js", "package.json"):
        (repo / name).write_text("x")
    (ws / "chats" / "1" / "state.json").write_text("{}")
    (ws / "chats" / "2" / "repo").mkdir(parents=True)
    (ws / "claude").mkdir()
    return ws, repo


def test_none_without_bubblewrap(workspace, monkeypatch):
    ws, repo = workspace
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    assert sandbox_settings(repo, RepoConfig(), ws, ()) is None


def test_rules(workspace, monkeypatch):
    ws, repo = workspace
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    rules = sandbox_settings(repo, RepoConfig(output="dist"), ws, (ws / "claude",))
    assert rules["network"]["allowedDomains"] == [] and rules["allowUnsandboxedCommands"] is False
    deny_write = set(rules["filesystem"]["denyWrite"])
    deny_read = set(rules["filesystem"]["denyRead"])
    names = {
        str(repo / n)
        for n in (".git", ".github", ".shipit.toml", "CLAUDE.md", "build.js", "package.json")
    }
    assert names <= deny_write
    assert {
        str(ws / "chats" / "1" / "state.json"),
        str(ws / "chats" / "2"),
        str(ws / "claude"),
    } <= deny_write
    # The agent's own folders, the build output and tool caches stay writable; no ancestor is denied.
    for ok in ("src", "tests", "dist", "node_modules"):
        assert str(repo / ok) not in deny_write
    assert not any(str(repo).startswith(p + "/") for p in deny_write)
    assert deny_read == {str(ws / "chats" / "2"), str(ws / "claude")}
