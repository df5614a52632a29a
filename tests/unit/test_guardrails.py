"""The guardrail policy, decided without I/O: a fake resolver stands in for the filesystem."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

import pytest

from agent.guard.policy import DISALLOWED_TOOLS, Policy, decide
from agent.repo_config import RepoConfig

REPO = "/work/repo"
SECRETS = (Path("/work/secrets/deploy_key"), Path("/work/claude-config"))
CONFIG = RepoConfig(validate="node --test", build="node build.js")


def fake_fs(links: dict[str, str] | None = None):
    """realpath over a pretend tree: `links` maps absolute link paths to their targets."""
    links = links or {}

    def resolve(path: str) -> str:
        current, pending, hops = "/", path.split("/"), 0
        while pending:
            part = pending.pop(0)
            if part in ("", "."):
                continue
            current = posixpath.dirname(current) if part == ".." else posixpath.join(current, part)
            if current in links:
                hops += 1
                assert hops < 40, "symlink loop"
                target = links[current]
                pending = target.split("/") + pending
                current = "/" if target.startswith("/") else posixpath.dirname(current)
        return current

    return resolve


POLICY = Policy.for_repo(Path(REPO), CONFIG, secret_paths=SECRETS, resolve=fake_fs())
LINKS = {
    f"{REPO}/src/hooks": f"{REPO}/.git/hooks",  # made earlier in the session, e.g. by test code
    f"{REPO}/src/up": "..",
    f"{REPO}/src/key": "/work/secrets/deploy_key",
    f"{REPO}/tests/ci": "../.github/workflows/ci.yml",  # dangling: the target does not exist yet
}


def check(tool: str, tool_input: dict, policy: Policy = POLICY, cwd: str | None = None):
    return decide(tool, tool_input, policy, fake_fs(LINKS), cwd)


def bash(command: str, cwd: str | None = None):
    return check("Bash", {"command": command}, cwd=cwd)


# --- writes -------------------------------------------------------------------------------------

WRITE_DENY = [
    (f"{REPO}/../outside.js", "outside the repo"),
    (f"{REPO}/src/../../outside.js", "outside the repo"),
    ("/tmp/evil.js", "outside the repo"),
    ("~/.bashrc", "outside the repo"),
    (f"{REPO}/.git/hooks/pre-commit", ".git/"),
    (f"{REPO}/src/../.git/hooks/pre-commit", ".git/"),
    (f"{REPO}/.git/config", ".git/"),
    (f"{REPO}/.GIT/config", ".GIT/"),
    (f"{REPO}/.github/workflows/ci.yml", ".github/"),
    (f"{REPO}/src/.github/workflows/ci.yml", ".github/"),
    (f"{REPO}/.gitlab-ci.yml", "configures"),
    (f"{REPO}/.circleci/config.yml", ".circleci/"),
    (f"{REPO}/.husky/pre-commit", ".husky/"),
    (f"{REPO}/.shipit.toml", "configures"),
    (f"{REPO}/CLAUDE.md", "configures"),
    (f"{REPO}/src/CLAUDE.md", "configures"),
    (f"{REPO}/.claude/settings.json", ".claude/"),
    (f"{REPO}/.mcp.json", "configures"),
    (f"{REPO}/package.json", "configures"),
    (f"{REPO}/src/package.json", "configures"),
    (f"{REPO}/package-lock.json", "lockfile"),
    (f"{REPO}/src/yarn.lock", "lockfile"),
    (f"{REPO}/tests/pnpm-lock.yaml", "lockfile"),
    (f"{REPO}/jest.config.js", "configures"),
    (f"{REPO}/tests/vitest.config.ts", "configures"),
    (f"{REPO}/tests/.mocharc.json", "configures"),
    (f"{REPO}/tests/conftest.py", "configures"),
    (f"{REPO}/src/tsconfig.json", "configures"),
    (f"{REPO}/src/.eslintrc.json", "configures"),
    (f"{REPO}/.npmrc", "configures"),
    (f"{REPO}/build.js", "protects build.js"),
    (f"{REPO}/Makefile", "configures"),
    (f"{REPO}/src/node_modules/left-pad/index.js", "node_modules/"),
    (f"{REPO}/README.md", "outside the folders you may change"),
    (f"{REPO}/srcx/app.js", "outside the folders you may change"),
    (REPO, "outside the folders you may change"),
    (f"{REPO}/src/*.js", "exactly"),
    (f"{REPO}/src/hooks/pre-commit", ".git/"),  # through a symlink into .git
    (f"{REPO}/src/up/package.json", "configures"),  # through a symlink to the repo root
    (f"{REPO}/tests/ci", ".github/"),  # dangling symlink to a CI file
]


@pytest.mark.parametrize("tool", ["Write", "Edit", "MultiEdit"])
@pytest.mark.parametrize(("path", "why"), WRITE_DENY)
def test_writes_outside_allowed_paths_are_denied(tool: str, path: str, why: str) -> None:
    decision = check(tool, {"file_path": path, "content": "x", "old_string": "a"})
    assert not decision.allowed
    assert why in decision.reason


WRITE_ALLOW = [
    f"{REPO}/src/app.js",
    f"{REPO}/src/components/deep/Button.css",
    f"{REPO}/tests/offset.test.js",
    f"{REPO}/src/../tests/new.test.js",
    "src/relative.js",
    f"{REPO}/src/.env.example",
]


@pytest.mark.parametrize("tool", ["Write", "Edit", "MultiEdit"])
@pytest.mark.parametrize("path", WRITE_ALLOW)
def test_writes_inside_allowed_paths_are_allowed(tool: str, path: str) -> None:
    assert check(tool, {"file_path": path, "content": "x"}).allowed


def test_notebook_edit_uses_the_notebook_path() -> None:
    assert check("NotebookEdit", {"notebook_path": f"{REPO}/src/a.ipynb"}).allowed
    assert not check("NotebookEdit", {"notebook_path": f"{REPO}/.git/a.ipynb"}).allowed


def test_only_src_allowed_protects_the_tests() -> None:
    only_src = Policy(repo=Path(REPO), allowed_paths=("src/",), commands=CONFIG.commands)
    assert check("Edit", {"file_path": f"{REPO}/src/app.js"}, only_src).allowed
    decision = check("Edit", {"file_path": f"{REPO}/tests/offset.test.js"}, only_src)
    assert not decision.allowed and "src/" in decision.reason


def test_repo_protected_paths_and_lockfile_switch() -> None:
    base = Policy(
        repo=Path(REPO), allowed_paths=("app/",), protected_paths=("app/gen/", "*.min.js")
    )
    assert not check("Write", {"file_path": f"{REPO}/app/gen/x.js"}, base).allowed
    assert not check("Write", {"file_path": f"{REPO}/app/lib.min.js"}, base).allowed
    assert not check("Write", {"file_path": f"{REPO}/app/package-lock.json"}, base).allowed
    lockfiles_ok = Policy(repo=Path(REPO), allowed_paths=("app/",), allow_lockfiles=True)
    assert check("Write", {"file_path": f"{REPO}/app/package-lock.json"}, lockfiles_ok).allowed
    assert check("Write", {"file_path": f"{REPO}/app/lib.js"}, base).allowed


def test_relative_paths_follow_the_session_directory() -> None:
    assert check("Write", {"file_path": "a.js"}, cwd=f"{REPO}/src").allowed
    assert not check("Write", {"file_path": "../package.json"}, cwd=f"{REPO}/src").allowed


# --- reads --------------------------------------------------------------------------------------

READ_DENY = [
    ("Read", {"file_path": "/etc/passwd"}, "inside the repo"),
    ("Read", {"file_path": f"{REPO}/../secrets/deploy_key"}, "outside the repo"),
    ("Read", {"file_path": "/work/secrets/deploy_key"}, "outside the repo"),
    ("Read", {"file_path": f"{REPO}/src/key"}, "resolves to /work/secrets/deploy_key"),
    ("Read", {"file_path": "/root/.ssh/id_ed25519"}, "outside the repo"),
    ("Read", {"file_path": "~/.ssh/id_rsa"}, "home folder"),
    ("Read", {"file_path": "/proc/self/environ"}, "/proc"),
    ("Read", {"file_path": "/work/claude-config/.credentials.json"}, "outside the repo"),
    ("Read", {"file_path": "/root/.aws/credentials"}, "outside the repo"),
    ("Read", {"file_path": f"{REPO}/.env"}, "secrets"),
    ("Read", {"file_path": f"{REPO}/src/.env.production"}, "secrets"),
    ("Read", {"file_path": f"{REPO}/certs/server.pem"}, "secrets"),
    ("Read", {"file_path": f"{REPO}/deploy/id_ed25519"}, "secrets"),
    ("Read", {"file_path": f"{REPO}/.git/config"}, "secrets"),
    ("Read", {"file_path": f"{REPO}/.npmrc"}, "secrets"),
    ("NotebookRead", {"notebook_path": f"{REPO}/.env"}, "secrets"),
    ("LS", {"path": "/root"}, "inside the repo"),
    ("Glob", {"pattern": "/root/.ssh/*"}, "inside the repo"),
    ("Glob", {"pattern": "../**/*"}, "climb out"),
    ("Glob", {"pattern": "{../..,src}/*"}, "climb out"),
    ("Glob", {"pattern": "*", "path": "/etc"}, "inside the repo"),
    ("Grep", {"pattern": "KEY", "path": "/etc"}, "inside the repo"),
    ("Grep", {"pattern": "KEY", "path": f"{REPO}/.env"}, "secrets"),
    ("Grep", {"pattern": "KEY", "glob": ".env*"}, "secret"),
    ("Grep", {"pattern": "KEY", "glob": "*.{js,env}"}, "secret"),
    ("Grep", {"pattern": "KEY", "path": "/proc/1/environ"}, "/proc"),
    ("Grep", {"pattern": "KEY"}, "hidden files"),  # the CLI's Grep passes --hidden to rg
    ("Grep", {"pattern": "KEY", "path": REPO, "glob": "!*.js"}, "hidden files"),
    ("Grep", {"pattern": "KEY", "glob": "*"}, "secret"),
    ("Grep", {"pattern": "KEY", "type": "sh"}, ".env"),  # ripgrep's sh type includes .env
    ("Grep", {"pattern": "KEY", "type": "all"}, ".env"),
]


@pytest.mark.parametrize(("tool", "tool_input", "why"), READ_DENY)
def test_reading_secrets_or_outside_the_repo_is_denied(tool, tool_input, why) -> None:
    decision = check(tool, tool_input)
    assert not decision.allowed
    assert why in decision.reason


READ_ALLOW = [
    ("Read", {"file_path": f"{REPO}/src/app.js"}),
    ("Read", {"file_path": "src/app.js"}),
    ("Read", {"file_path": f"{REPO}/package.json"}),
    ("Read", {"file_path": f"{REPO}/README.md"}),
    ("Read", {"file_path": f"{REPO}/.env.example"}),
    ("LS", {"path": REPO}),
    ("Glob", {"pattern": "**/*.js"}),
    ("Glob", {"pattern": "src/**/*.test.js", "path": REPO}),
    ("Grep", {"pattern": "offset", "glob": "**/*.js"}),
    ("Grep", {"pattern": "offset", "type": "js"}),
    ("Grep", {"pattern": "offset", "path": f"{REPO}/src"}),
    ("Grep", {"pattern": "offset", "path": "README.md"}),
    ("Grep", {"pattern": "offset", "path": f"{REPO}/src", "glob": "*.{js,css}"}),
]


@pytest.mark.parametrize(("tool", "tool_input"), READ_ALLOW)
def test_reading_inside_the_repo_is_allowed(tool, tool_input) -> None:
    assert check(tool, tool_input).allowed


# --- tools --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tool",
    ["Agent", "Task", "WebFetch", "WebSearch", "CronCreate", "ScheduleWakeup", "RemoteTrigger"]
    + ["Skill", "Config", "PowerShell", "Monitor", "mcp__evil__exfiltrate", "SomeFutureTool"],
)
def test_tools_the_agent_must_not_have_are_denied(tool: str) -> None:
    assert not check(tool, {"prompt": "x", "url": "https://evil.example"}).allowed


@pytest.mark.parametrize("tool", ["TodoWrite", "TaskOutput", "TaskStop"])
def test_bookkeeping_tools_are_allowed(tool: str) -> None:
    assert check(tool, {}).allowed


def test_disallowed_tools_remove_sub_agents_web_and_schedulers_but_not_the_work_tools() -> None:
    must_go = {"Agent", "Task", "WebFetch", "WebSearch", "CronCreate", "CronDelete", "CronList"}
    assert must_go | {"ScheduleWakeup", "RemoteTrigger"} <= set(DISALLOWED_TOOLS)
    assert not {"Bash", "Read", "Write", "Edit", "Glob", "Grep"} & set(DISALLOWED_TOOLS)


@pytest.mark.parametrize(
    ("tool", "tool_input"),
    [("Write", {}), ("Write", {"file_path": 3}), ("Bash", {"command": ["ls"]}), ("Read", None)],
)
def test_malformed_input_is_denied(tool, tool_input) -> None:
    decision = check(tool, tool_input)
    assert not decision.allowed and "Malformed" in decision.reason


def test_for_repo_takes_the_repo_config_and_protects_files_its_commands_run() -> None:
    config = RepoConfig(
        validate="./scripts/check.sh", build="node build.js", allowed_paths=("web/",)
    )
    policy = Policy.for_repo(Path("/r/x/.."), config, resolve=posixpath.normpath)
    assert policy.repo == Path("/r")
    assert policy.allowed_paths == ("web/",)
    assert policy.commands == ("./scripts/check.sh", "node build.js")
    assert set(policy.protected_paths) == {"scripts/check.sh", "build.js"}


# --- symlinks on a real filesystem --------------------------------------------------------------


def test_a_symlink_made_earlier_in_the_session_is_followed(tmp_path: Path) -> None:
    repo, secret = tmp_path / "repo", tmp_path / "deploy_key"
    (repo / ".git" / "hooks").mkdir(parents=True)
    (repo / "src").mkdir()
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----")
    policy = Policy.for_repo(repo, CONFIG, secret_paths=(secret,))
    target = str(policy.repo / "src" / "hooks" / "pre-commit")
    assert decide("Write", {"file_path": target}, policy).allowed  # before the link exists

    os.symlink(repo / ".git" / "hooks", repo / "src" / "hooks")  # e.g. by the agent's test code
    os.symlink(secret, repo / "src" / "notes.txt")
    os.symlink(repo / ".github" / "workflows" / "x.yml", repo / "src" / "later.yml")  # dangling
    assert not decide("Write", {"file_path": target}, policy).allowed
    assert not decide("Edit", {"file_path": str(repo / "src" / "later.yml")}, policy).allowed
    assert not decide("Read", {"file_path": str(repo / "src" / "notes.txt")}, policy).allowed
    run = {"cwd": str(policy.repo)}
    for command in ("echo x > src/hooks/pre-commit", "cat src/notes.txt", "cp src/notes.txt src/a"):
        assert not decide("Bash", {"command": command}, policy, **run).allowed, command
    assert decide("Bash", {"command": "echo x > src/a.txt"}, policy, **run).allowed
