"""What Shipit checks itself, after the box: every path that changed is one the agent may write.

Code the agent writes also runs when the repo's checks and build run, so the whole tree is
compared before and after, untracked and git-ignored files included (`git status` would miss an
ignored `.npmrc` or a file planted under node_modules), and anything outside the allowed paths
refuses the change, whoever wrote it. The build output is rebuilt by Shipit and never committed.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from agent.guard.policy import PathRules, Policy
from agent.repo_config import RepoConfig

# node_modules is read-only in the box and rebuilt from the lockfile each request: its entries
# are compared by metadata (size, mtime, inode, mode) rather than read in full.
BY_METADATA = ("node_modules",)


class ForbiddenChange(Exception):
    """The work tree has changes the agent was not allowed to make."""

    def __init__(self, paths: list[str], reasons: list[str]) -> None:
        super().__init__(f"forbidden changes: {', '.join(paths)}")
        self.paths = paths
        self.reasons = reasons


def snapshot(repo: Path) -> dict[str, tuple]:
    """Every entry of the work tree but .git: repo-relative path -> what it is now."""
    out: dict[str, tuple] = {}
    for here, dirs, files in os.walk(repo):
        rel_here = os.path.relpath(here, repo)
        if rel_here == ".":
            dirs[:] = [d for d in dirs if d != ".git"]
            rel_here = ""
        cheap = rel_here.split("/", 1)[0] in BY_METADATA
        for name in dirs + files:
            path = os.path.join(here, name)
            rel = f"{rel_here}/{name}" if rel_here else name
            out[rel] = _entry(path, cheap or name in BY_METADATA and not rel_here)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(here, d))]
    return out


def _entry(path: str, cheap: bool) -> tuple:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return ("link", os.readlink(path))
    if stat.S_ISDIR(info.st_mode):
        return ("dir", stat.S_IMODE(info.st_mode))
    if not stat.S_ISREG(info.st_mode):
        return ("special", info.st_mode)
    if cheap:
        return ("file", info.st_mode, info.st_size, info.st_mtime_ns, info.st_ino)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return ("file", info.st_mode, digest.hexdigest())


def changed_paths(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    """Paths added, removed or changed (folders only when they appear or go)."""
    out = []
    for rel in sorted(before.keys() | after.keys()):
        old, new = before.get(rel), after.get(rel)
        if old == new or (old and new and old[0] == new[0] == "dir"):
            continue
        out.append(rel)
    return out


def check_changes(
    repo: Path, config: RepoConfig, before: dict[str, tuple], secret_paths: tuple[Path, ...]
) -> list[str]:
    """The changed paths (build output aside); raises ForbiddenChange if any is off limits."""
    rules = PathRules(Policy.for_repo(repo, config, secret_paths=secret_paths), os.path.realpath)
    output = config.output.strip("/")
    changed = [
        rel
        for rel in changed_paths(before, snapshot(repo))
        if rel != output and not rel.startswith(output + "/")
    ]
    bad = []
    for rel in changed:
        # Judged by the path as written, never through a link the change itself may have made.
        reason = rules.write(str(repo / rel), str(repo)) if not _is_dir(repo / rel) else None
        if reason is None and _is_dir(repo / rel):
            reason = rules.write(str(repo / rel / ".keep"), str(repo))
        if reason:
            bad.append((rel, reason))
    if bad:
        raise ForbiddenChange([p for p, _ in bad], [r for _, r in bad])
    return changed


def _is_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()
