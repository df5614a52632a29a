"""Shipit's own check compares the whole tree, ignored files included, and the reset wipes it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agent.guard.changes import ForbiddenChange, check_changes, snapshot
from agent.repo import Repo
from agent.repo_config import RepoConfig

CONFIG = RepoConfig(allowed_paths=("src/", "tests/"), output="dist")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    (path / "src").mkdir(parents=True)
    (path / "src" / "app.js").write_text("x\n")
    (path / "package.json").write_text("{}\n")
    (path / ".gitignore").write_text("node_modules/\n.npmrc\n.env*\ndist/\n")
    (path / "node_modules" / "lib").mkdir(parents=True)
    (path / "node_modules" / "lib" / "index.js").write_text("ok\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(path)], check=True)
    subprocess.run([*git, "-C", str(path), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(path), "commit", "-qm", "base"], check=True)
    return path


def refused(repo: Path, before) -> list[str]:
    with pytest.raises(ForbiddenChange) as error:
        check_changes(repo, CONFIG, before, ())
    return error.value.paths


def test_changes_in_allowed_folders_and_the_output_pass(repo):
    before = snapshot(repo)
    (repo / "src" / "app.js").write_text("y\n")
    (repo / "src" / "new.js").write_text("z\n")
    (repo / "dist").mkdir()
    (repo / "dist" / "index.html").write_text("built\n")
    assert check_changes(repo, CONFIG, before, ()) == ["src/app.js", "src/new.js"]


@pytest.mark.parametrize(
    "plant",
    [".npmrc", ".env.local", "node_modules/evil.js", "node_modules/lib/index.js", "package.json"],
)
def test_git_ignored_and_protected_plants_are_refused(repo, plant):
    before = snapshot(repo)
    (repo / plant).write_text("registry=http://127.0.0.1:9/\n")
    assert plant in refused(repo, before)


def test_deleting_outside_the_allowed_folders_is_refused(repo):
    before = snapshot(repo)
    (repo / "package.json").unlink()
    assert refused(repo, before) == ["package.json"]


def test_a_link_in_an_allowed_folder_to_a_protected_file_is_refused(repo):
    before = snapshot(repo)
    (repo / "src" / "config").symlink_to("../package.json")
    assert refused(repo, before) == ["src/config"]


def test_the_reset_before_a_request_leaves_nothing_planted(repo):
    (repo / ".npmrc").write_text("registry=http://evil\n")
    (repo / "src" / "stray.js").write_text("left over\n")
    (repo / "src" / "app.js").write_text("edited\n")
    git = Repo(path=repo, url=str(repo))
    git.start_branch("preview/x", git.head())
    assert not (repo / ".npmrc").exists() and not (repo / "src" / "stray.js").exists()
    assert not (repo / "node_modules").exists()  # rebuilt from the lockfile, never carried over
    assert (repo / "src" / "app.js").read_text() == "x\n"


def test_shipit_hands_the_model_its_own_change(repo):
    """There is no git in the box: the fix round's prompt carries Shipit's diff instead."""
    (repo / "src" / "app.js").write_text("y\n")
    (repo / "src" / "new.js").write_text("fresh\n")
    (repo / "package.json").write_text('{"x": 1}\n')
    diff = Repo(path=repo, url=str(repo)).change_diff(("src/", "tests/"))
    assert "+y" in diff and "+fresh" in diff
    assert "package.json" not in diff
