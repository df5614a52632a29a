"""Dependency installs cached outside the working tree, keyed by manifest + lockfile + command.

An install runs once per key in a staging folder that holds only the manifest files (never the
agent's code, so nothing the agent wrote runs with network access), then the folder is renamed
into place whole. Each request links the cached packages into the fresh working tree as
`node_modules`, a symlink: the command runner shows its target read-only to checks and builds,
which run in a scratch copy whose own node_modules holds links to the entries (so tool caches
such as `.vite` never land in the shared cache).
"""

from __future__ import annotations

import errno
import functools
import hashlib
import os
import secrets
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.commands import CommandResult

# What an install may read: the manifest, the lockfiles and package-manager settings.
MANIFESTS = (
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "pnpm-lock.yaml",
    "pnpm-workspace.yaml",
    "yarn.lock",
    ".yarnrc.yml",
    "bun.lock",
    "bun.lockb",
    ".npmrc",
)
FOLDER = "node_modules"
NPM_SEED = ".npm-seed"  # a warmed npm download cache, linked into the staging folder

Runner = Callable[[str, Path, bool], CommandResult]


class InstallFailed(Exception):
    """The repo's install command failed; `result` holds its output."""

    def __init__(self, command: str, result: CommandResult) -> None:
        super().__init__(f"{command!r} exited {result.returncode}")
        self.command = command
        self.result = result


@dataclass(frozen=True)
class Installed:
    """Where the packages for one key live, and whether this call had to install them."""

    key: str
    folder: Path
    cached: bool
    seconds: float


def cache_key(manifests: dict[str, bytes], command: str) -> str:
    """A hash of every manifest file (name and bytes) and the install command (pure)."""
    digest = hashlib.sha256()
    for name in sorted(manifests):
        digest.update(f"{name}\0{len(manifests[name])}\0".encode())
        digest.update(manifests[name])
    digest.update(b"\0command\0" + command.encode())
    return digest.hexdigest()[:32]


@functools.cache
def node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return "none"
    done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    return done.stdout.strip()


def read_manifests(repo: Path) -> dict[str, bytes]:
    # Empty files are ignored: the agent's sandbox leaves empty stub lockfiles in the tree.
    return {
        name: (repo / name).read_bytes()
        for name in MANIFESTS
        if (repo / name).is_file() and (repo / name).stat().st_size
    }


class DepsCache:
    """Installs under `root`, reused while the key is unchanged."""

    def __init__(self, root: Path, run: Runner, npm_seed: Path | None = None, offline=False):
        self.root = root
        self.run = run
        # A warmed npm download cache to start installs from (CI and tests: no registry).
        self.npm_seed = npm_seed
        self.offline = offline

    @staticmethod
    def handles(repo: Path) -> bool:
        """Only node package managers install into node_modules; other installs run in place."""
        return (repo / "package.json").is_file()

    def prepare(self, repo: Path, command: str) -> Installed:
        """Install (or reuse) the packages for `repo`'s manifests and link them into `repo`."""
        started = time.monotonic()
        manifests = read_manifests(repo)
        # Native addons are built for one Node ABI: a different Node is a different install.
        key = cache_key(manifests, f"{command}\0node {node_version()}")
        entry = self.root / key
        cached = (entry / FOLDER).is_dir()
        if not cached:
            self._install(entry, manifests, command)
        link_into(repo, entry / FOLDER)
        return Installed(key, entry / FOLDER, cached, time.monotonic() - started)

    def _install(self, entry: Path, manifests: dict[str, bytes], command: str) -> None:
        staging = self.root / f".staging-{entry.name}-{secrets.token_hex(4)}"
        staging.mkdir(parents=True)
        try:
            for name, data in manifests.items():
                (staging / name).write_bytes(data)
            result = self.run(self._command(staging, command), staging, True)
            if not result.ok:
                raise InstallFailed(command, result)
            shutil.rmtree(staging / NPM_SEED, ignore_errors=True)
            if not (staging / FOLDER).is_dir():
                (staging / FOLDER).mkdir()  # an app with no packages still gets a folder
            try:
                staging.rename(entry)  # appears whole or not at all
            except OSError as exc:
                # Another chat installed the same key meanwhile: theirs is as good as ours.
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _command(self, staging: Path, command: str) -> str:
        """The install command with npm's download cache in the box's private home.

        The install box lets a command write only node_modules/, and npm treats a read-only
        cache as empty: so a seed cache is hard-linked into the staging folder (copied where
        links cannot cross file systems), copied into the home inside the box, and thrown away
        with the staging folder.
        """
        settings = ['export npm_config_cache="$HOME/.npm"']
        if self.npm_seed is not None and self.npm_seed.is_dir():
            _copy_tree(self.npm_seed, staging / NPM_SEED)
            settings.append(
                f'mkdir -p "$HOME/.npm" && cp -R {shlex.quote(str(staging / NPM_SEED))}/. "$HOME/.npm"'
            )
        if self.offline:
            settings.append("export npm_config_offline=true")
        return "; ".join([*settings, command])


def link_into(repo: Path, packages: Path) -> None:
    """Make `repo/node_modules` a symlink to the cached `packages` folder."""
    target = repo / FOLDER
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    target.symlink_to(packages, target_is_directory=True)
    _exclude_from_git(repo)


def _exclude_from_git(repo: Path) -> None:
    """Keep the links out of commits even when the app's .gitignore does not list them."""
    info = repo / ".git" / "info"
    if not (repo / ".git").is_dir():
        return
    info.mkdir(exist_ok=True)
    exclude = info / "exclude"
    lines = exclude.read_text().splitlines() if exclude.exists() else []
    if f"/{FOLDER}" not in lines:  # no trailing slash: git sees a symlink as a file
        exclude.write_text("\n".join([*lines, f"/{FOLDER}"]) + "\n")


def _copy_tree(source: Path, dest: Path) -> None:
    try:
        shutil.copytree(source, dest, copy_function=os.link)
    except OSError:
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(source, dest)
