"""Dependency installs: once per manifest + lockfile + command, outside the tree, linked in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.commands import run_command
from agent.deps_cache import DepsCache, InstallFailed, cache_key
from agent.guard.env import command_env

REPO_ROOT = Path(__file__).resolve().parents[2]
# Stands in for `npm ci`: records where it ran and what it could see, makes a package.
FAKE_INSTALL = (
    'seen=$(ls -A); echo "$seen" > seen.txt; pwd > where.txt; mkdir -p node_modules/left-pad node_modules/.bin; '
    "echo 'module.exports = 1' > node_modules/left-pad/index.js; echo $npm_config_cache > cache.txt"
)


def shell(command: str, cwd: Path, home: Path, timeout: float = 120):
    home.mkdir(parents=True, exist_ok=True)
    env = [f"{k}={v}" for k, v in command_env(str(home)).items()]
    return run_command(
        ["/usr/bin/env", "-i", *env, "/bin/sh", "-c", command], command, cwd, timeout
    )


class Runs:
    """The real shell runner (no box: the box has its own tests), counting calls."""

    def __init__(self, home: Path) -> None:
        self.calls: list[tuple[str, Path, bool]] = []
        self.home = home

    def __call__(self, command: str, cwd: Path, network: bool = False):
        self.calls.append((command, cwd, network))
        return shell(command, cwd, self.home)


def app(root: Path, lock: str = '{"lockfileVersion": 3}') -> Path:
    root.mkdir(parents=True)
    (root / "package.json").write_text(json.dumps({"name": "x", "dependencies": {"left-pad": "1"}}))
    (root / "package-lock.json").write_text(lock)
    (root / "src").mkdir()
    (root / "src" / "secret-agent-code.js").write_text("fetch('http://evil')")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def test_installs_once_in_a_staging_folder_then_reuses(tmp_path: Path) -> None:
    runs = Runs(tmp_path / "home")
    cache = DepsCache(tmp_path / "cache", runs)
    repo = app(tmp_path / "repo")
    first = cache.prepare(repo, FAKE_INSTALL)
    assert not first.cached
    ((command, cwd, network),) = runs.calls
    assert network and FAKE_INSTALL in command
    # The install saw only the manifest files: none of the agent's code.
    entry = first.folder.parent
    assert sorted((entry / "seen.txt").read_text().split()) == ["package-lock.json", "package.json"]
    assert cwd != repo and not cwd.is_relative_to(repo)
    # The tree links to the cached packages.
    modules = repo / "node_modules"
    assert modules.is_symlink() and modules.resolve() == first.folder.resolve()
    assert (modules / "left-pad" / "index.js").read_text().strip() == "module.exports = 1"
    # And git never sees the links.
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True
    )
    assert "node_modules" not in status.stdout

    # A fresh tree (git clean -fdx before each request) with the same lockfile: no install.
    modules.unlink()
    again = cache.prepare(repo, FAKE_INSTALL)
    assert again.cached and len(runs.calls) == 1
    assert (repo / "node_modules" / "left-pad" / "index.js").exists()


def test_a_changed_lockfile_or_command_is_a_new_install(tmp_path: Path) -> None:
    runs = Runs(tmp_path / "home")
    cache = DepsCache(tmp_path / "cache", runs)
    repo = app(tmp_path / "repo")
    a = cache.prepare(repo, FAKE_INSTALL)
    (repo / "package-lock.json").write_text('{"lockfileVersion": 3, "changed": true}')
    b = cache.prepare(repo, FAKE_INSTALL)
    c = cache.prepare(repo, FAKE_INSTALL + " # other command")
    assert len({a.key, b.key, c.key}) == 3 and len(runs.calls) == 3
    assert cache_key({"a": b"1"}, "npm ci") != cache_key({"a": b"1 "}, "npm ci")
    assert cache_key({"a": b"1", "b": b""}, "x") != cache_key({"a": b"1b"}, "x")


def test_a_failed_install_leaves_nothing_cached(tmp_path: Path) -> None:
    runs = Runs(tmp_path / "home")
    cache = DepsCache(tmp_path / "cache", runs)
    repo = app(tmp_path / "repo")
    with pytest.raises(InstallFailed) as failed:
        cache.prepare(repo, "echo 'npm error 404 left-pad' && exit 1")
    assert "npm error 404" in failed.value.result.output
    assert list((tmp_path / "cache").iterdir()) == []


def test_npm_download_cache_is_seeded_into_staging(tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    (seed / "_cacache").mkdir(parents=True)
    (seed / "_cacache" / "entry").write_text("tarball")
    runs = Runs(tmp_path / "home")
    cache = DepsCache(tmp_path / "cache", runs, npm_seed=seed, offline=True)
    repo = app(tmp_path / "repo")
    done = cache.prepare(repo, FAKE_INSTALL + "; cat $npm_config_cache/_cacache/entry > got.txt")
    entry = done.folder.parent
    assert (entry / "got.txt").read_text().strip() == "tarball"  # npm's cache, in its home
    assert (entry / "cache.txt").read_text().strip() == str(tmp_path / "home" / ".npm")
    assert "npm_config_offline=true" in runs.calls[0][0]
    assert not (entry / ".npm-seed").exists()  # thrown away after the install
    assert (seed / "_cacache" / "entry").read_text() == "tarball"


def test_the_vite_example_installs_offline_from_the_warmed_cache(tmp_path: Path, npm_seed) -> None:
    repo = tmp_path / "vite"
    example = REPO_ROOT / "examples" / "vite-pwa"
    shutil.copytree(example, repo, ignore=shutil.ignore_patterns("node_modules", "dist"))
    runs = Runs(tmp_path / "home")
    cache = DepsCache(tmp_path / "cache", runs, npm_seed=npm_seed, offline=True)
    done = cache.prepare(repo, "npm ci --no-audit --no-fund")
    assert not done.cached
    built = shell("npm run build", repo, tmp_path / "home", 300)
    assert built.ok, built.output
    assert (repo / "dist" / "sw.js").is_file()
    assert os.path.islink(repo / "node_modules") and (repo / "node_modules" / "vite").is_dir()
