"""OS sandbox rules for the agent's Bash: no network, and writes only where the agent may write.

The SDK sandbox (bubblewrap + socat) leaves /tmp, /var, /mnt and other roots writable by
default, and code the agent writes runs through the repo's allowed checks. So the rules deny,
at the OS level: reading secrets and other chats' folders, writing beside the repo anywhere up
to the workspace root, and writing any top-level entry of the repo outside the allowed folders.
A deny wins over the repo's own write permission, so siblings are listed, never parents.
"""

from __future__ import annotations

from pathlib import Path

from agent.bwrap import os_sandbox_available
from agent.repo_config import RepoConfig

# Folders the repo's own tools write while checking or building; never protected content.
TOOL_OUTPUT = ("node_modules",)


def _siblings_up_to(repo: Path, top: Path) -> list[Path]:
    """Every existing entry beside the path from `repo` up to `top` (inclusive of top's children)."""
    found = []
    here = repo
    while here != top and here.parent != here:
        parent = here.parent
        found += [child for child in sorted(parent.iterdir()) if child != here]
        here = parent
    return found


def _repo_entries_outside(repo: Path, config: RepoConfig) -> list[Path]:
    """Top-level entries of the repo the agent may not write (config, CI, .git, build script…)."""
    allowed = {p.strip("/").split("/")[0] for p in config.allowed_paths}
    keep = allowed | {config.output.strip("/").split("/")[0], *TOOL_OUTPUT}
    return [child for child in sorted(repo.iterdir()) if child.name not in keep]


def sandbox_settings(
    repo: Path, config: RepoConfig, workspace: Path, secret_paths: tuple[Path, ...]
) -> dict | None:
    """SDK sandbox settings, or None where bubblewrap or socat is missing (it cannot enforce)."""
    if not os_sandbox_available():
        return None
    repo, workspace = repo.resolve(), workspace.resolve()
    top = workspace if repo.is_relative_to(workspace) else repo.parent
    beside = _siblings_up_to(repo, top)
    chats = workspace / "chats"
    other_chats = [p for p in beside if p.parent == chats]
    return {
        "enabled": True,
        "autoAllowBashIfSandboxed": False,
        "allowUnsandboxedCommands": False,
        "network": {"allowedDomains": [], "allowLocalBinding": False},
        "filesystem": {
            "denyRead": sorted({str(p) for p in (*secret_paths, *other_chats)}),
            "denyWrite": sorted(
                {str(p) for p in (*beside, *_repo_entries_outside(repo, config), *secret_paths)}
            ),
        },
    }
