"""OS sandbox rules: siblings up to the workspace, other chats and secrets are off limits."""

import pytest

from agent import os_sandbox
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
    monkeypatch.setattr(os_sandbox, "os_sandbox_available", lambda: False)
    assert sandbox_settings(repo, RepoConfig(), ws, ()) is None


def test_rules(workspace, monkeypatch):
    ws, repo = workspace
    monkeypatch.setattr(os_sandbox, "os_sandbox_available", lambda: True)
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


def test_an_installed_bwrap_that_cannot_sandbox_is_not_used(tmp_path, monkeypatch):
    from agent import bwrap

    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    bwrap.usable_bwrap.cache_clear()
    try:
        assert bwrap.usable_bwrap() is None
        assert not bwrap.os_sandbox_available()
    finally:
        bwrap.usable_bwrap.cache_clear()
