"""A local bare git repo standing in for GitHub, seeded from an app folder (the sample app by default)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from agent.repo import GIT_IDENTITY

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_APP = REPO_ROOT / "examples" / "sample-app"


def _git(*args: str, cwd: Path) -> str:
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(cwd), **GIT_IDENTITY}
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def seed_origin(origin: Path, app: Path = SAMPLE_APP, branch: str = "main") -> Path:
    """Create `origin` as a bare repo whose main holds `app` (once; an existing one is kept)."""
    if (origin / "HEAD").exists():
        return origin
    origin.parent.mkdir(parents=True, exist_ok=True)
    _git("init", "--quiet", "--bare", f"--initial-branch={branch}", str(origin), cwd=origin.parent)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "app"
        shutil.copytree(app, work, ignore=shutil.ignore_patterns("dist", "node_modules"))
        _git("init", "--quiet", f"--initial-branch={branch}", cwd=work)
        _git("add", "--all", cwd=work)
        _git("commit", "--quiet", "-m", f"{app.name}: the app as it was before Shipit", cwd=work)
        _git("push", "--quiet", str(origin), branch, cwd=work)
    return origin


def origin_head(origin: Path, branch: str = "main") -> str:
    return _git("rev-parse", branch, cwd=origin)


def origin_file(origin: Path, path: str, ref: str = "main") -> str:
    return _git("show", f"{ref}:{path}", cwd=origin)


def push_change(origin: Path, path: str, old: str, new: str, message: str) -> str:
    """Someone else changes main (replaces `old` by `new` in `path` and pushes); returns main."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "app"
        _git("clone", "--quiet", str(origin), str(work), cwd=Path(tmp))
        file = work / path
        text = file.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {path}"
        file.write_text(text.replace(old, new, 1), encoding="utf-8")
        _git("commit", "--quiet", "-am", message, cwd=work)
        _git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    return origin_head(origin)
