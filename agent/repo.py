"""Git done by Shipit itself (never by the agent): clone, branch, commit, merge, push, revert."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

# Every git call Shipit makes ignores repo config that could run a program (code run by the
# repo's own checks could have written it): no hooks, no fsmonitor, no ext:: transport.
SAFE_CONFIG = (
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.fsmonitor=false",
    "-c", "protocol.ext.allow=never",
    "-c", "core.sshCommand=ssh",
)  # fmt: skip

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Shipit",
    "GIT_AUTHOR_EMAIL": "shipit@localhost",
    "GIT_COMMITTER_NAME": "Shipit",
    "GIT_COMMITTER_EMAIL": "shipit@localhost",
}


class GitError(Exception):
    """A git command failed."""

    def __init__(self, args: list[str], returncode: int, output: str) -> None:
        super().__init__(f"git {' '.join(args)} failed ({returncode}): {output.strip()[-500:]}")
        self.args_ = args
        self.returncode = returncode
        self.output = output


class MainMovedError(GitError):
    """main changed since the preview was made, so the preview is not what would go live."""


class PushRejectedError(GitError):
    """origin refused the push (main moved, or no permission)."""


@dataclass
class Repo:
    """One working clone of the target repo, owned by one chat."""

    path: Path
    url: str
    main: str = "main"
    # Yields GIT_SSH_COMMAND with the deploy key for the length of one network call (or None).
    credentials: Callable[[], AbstractContextManager[str]] | None = None

    def git(
        self, *args: str, check: bool = True, cwd: Path | None = None, network: bool = False
    ) -> str:
        if network and self.credentials is not None:
            with self.credentials() as ssh_command:
                proc = self._run(args, cwd, ssh_command)
        else:
            proc = self._run(args, cwd)
        if check and proc.returncode != 0:
            raise GitError(list(args), proc.returncode, proc.stdout + proc.stderr)
        return proc.stdout.strip()

    def is_ancestor(self, older: str, newer: str) -> bool:
        """True when `newer` already contains `older` (so main can fast-forward to it)."""
        return self._run(("merge-base", "--is-ancestor", older, newer), None).returncode == 0

    def _run(
        self, args: tuple[str, ...], cwd: Path | None, ssh_command: str = ""
    ) -> subprocess.CompletedProcess:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            "GIT_TERMINAL_PROMPT": "0",
            **GIT_IDENTITY,
        }
        if ssh_command:
            env["GIT_SSH_COMMAND"] = ssh_command
        return subprocess.run(
            ["git", *SAFE_CONFIG, *args],
            cwd=cwd or self.path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def sync(self) -> str:
        """Clone if missing, else fetch; returns origin's main commit."""
        if not (self.path / ".git").exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            clone = ("clone", "--quiet", "--no-checkout", self.url, str(self.path))
            self.git(*clone, cwd=self.path.parent, network=True)
        else:
            # By URL, not by the remote's name: .git/config is not trusted to say where to go.
            refspec = f"+refs/heads/{self.main}:refs/remotes/origin/{self.main}"
            self.git("fetch", "--quiet", self.url, refspec, network=True)
        return self.git("rev-parse", f"origin/{self.main}")

    def start_branch(self, branch: str, base: str) -> None:
        """Check out a fresh branch at `base` with the work tree reset completely: untracked and
        ignored files too (node_modules, a planted .npmrc), so nothing a run left survives."""
        self.git("checkout", "--quiet", "--force", "-B", branch, base)
        self.git("clean", "-ffdxq")

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def changed_files(self, exclude: str = "") -> list[str]:
        """Paths changed in the work tree (tracked or new), relative to the repo."""
        spec = ["--", ".", f":(exclude){exclude}"] if exclude else []
        args = ("status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", *spec)
        proc = self._run(args, None)  # unstripped: each entry starts with a two-letter status
        if proc.returncode != 0:
            raise GitError(list(args), proc.returncode, proc.stderr)
        return [entry[3:] for entry in proc.stdout.split("\0") if entry]

    def commit_all(self, message: str, exclude: str = "") -> str | None:
        """Commit every change in the work tree but `exclude` (the build output); None if none."""
        changed = self.changed_files(exclude)
        if not changed:
            return None
        self.git("add", "--all", "--", *(f":(literal){path}" for path in changed))
        self.git("commit", "--quiet", "--no-verify", "-m", message)
        return self.head()

    def change_diff(self, paths: tuple[str, ...]) -> str:
        """The work tree's changes below `paths` against HEAD, new files included, as a diff
        (what the boxed agent changed; it has no git of its own)."""
        spec = ["--", *(f":(literal){p}" for p in paths)] if paths else ["--", "."]
        new = self.git("ls-files", "--others", "--exclude-standard", "-z", *spec)
        names = [n for n in new.split("\0") if n]
        if names:  # intent-to-add, so the diff shows new files whole; the index is Shipit's own
            self.git("add", "--intent-to-add", "--", *(f":(literal){n}" for n in names))
        return self.git("diff", "HEAD", *spec)

    def diff_stat(self, base: str, commit: str) -> list[str]:
        return self.git("diff", "--name-only", base, commit).splitlines()

    def restore_main_to(self, tree_of: str, message: str) -> str:
        """Add a commit on main whose files equal those of `tree_of` (an undo), and push it."""
        origin_main = self.sync()
        tree = self.git("rev-parse", f"{tree_of}^{{tree}}")
        new = self.git("commit-tree", tree, "-p", origin_main, "-m", message)
        self.git("checkout", "--quiet", "--force", "-B", self.main, new)
        self.push(new)
        return new

    def push(self, commit: str) -> None:
        try:
            self.git("push", "--quiet", self.url, f"{commit}:refs/heads/{self.main}", network=True)
        except GitError as exc:
            raise PushRejectedError(exc.args_, exc.returncode, exc.output) from exc

    def delete_branch(self, branch: str) -> None:
        self.git("checkout", "--quiet", "--force", "--detach", check=False)
        self.git("branch", "-D", branch, check=False)

    def worktree_at(self, commit: str, path: Path) -> Path:
        """A separate checkout of `commit` (to build main without touching the chat's branch)."""
        self.git("worktree", "remove", "--force", str(path), check=False)
        self.git("worktree", "prune")
        self.git("worktree", "add", "--quiet", "--detach", str(path), commit)
        return path
