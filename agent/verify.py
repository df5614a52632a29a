"""What Shipit checks itself, behind the hook: every changed path is one the agent may write.

Code the agent writes also runs when the repo's checks and build run, outside any per-tool-call
hook, so the commit step refuses anything outside the allowed paths whoever wrote it.
"""

from __future__ import annotations

import os
from pathlib import Path

from agent.guardrails import PathRules, Policy
from agent.repo import Repo
from agent.repo_config import RepoConfig


class ForbiddenChange(Exception):
    """The work tree has changes the agent was not allowed to make."""

    def __init__(self, paths: list[str], reasons: list[str]) -> None:
        super().__init__(f"forbidden changes: {', '.join(paths)}")
        self.paths = paths
        self.reasons = reasons


def check_changes(repo: Repo, config: RepoConfig, secret_paths: tuple[Path, ...]) -> list[str]:
    """The changed paths (build output aside); raises ForbiddenChange if any is off limits."""
    rules = PathRules(
        Policy.for_repo(repo.path, config, secret_paths=secret_paths), os.path.realpath
    )
    changed = repo.changed_files(config.output)
    bad = [(p, r) for p in changed if (r := rules.write(str(repo.path / p), str(repo.path)))]
    if bad:
        raise ForbiddenChange([p for p, _ in bad], [r for _, r in bad])
    return changed
