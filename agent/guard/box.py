"""The OS box around the `claude` CLI and around the repo's own commands: an allow-listed view.

Everything the agent can run (the CLI itself, its file tools, its Bash, and the repo's install,
checks and build, which execute code the agent wrote) runs inside one of these. What is inside:
- the toolchains, read-only (/usr and the folders node/npm/git live in) and a few /etc files;
- the chat's working tree at its own path, read-only, with only the allowed folders and the
  build output writable; `.git` replaced by an empty folder (no history, no config, no objects);
  secret-shaped files (agent/guard/names.py) replaced by empty files;
- a private empty HOME and /tmp for this run, its own /proc (pid namespace), no /sys;
- no network at all: a private network namespace whose loopback has only the bridges Shipit
  adds (socat inside the box to a unix socket outside): the model proxy, and for the install
  step only, the registry-only egress proxy.
Nothing else of the host exists in the box: not the workspace's other chats, not transcripts, not
the deploy key, not the agent's environment or home, not cloud credential files or endpoints.

On the Landlock rung the same view is expressed as kernel access rules on the real paths
(agent/guard/landlock.py); on `none` there is no box and `wrap` only clears the environment.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from agent.guard.names import is_secret
from agent.guard.rungs import UNSHARE, Isolation, Rung

# Inside a bubblewrap box (its own network namespace, so fixed ports cannot clash).
BOX_HOME = "/home/shipit"
BOX_RUN = "/run/shipit"
MODEL_PORT = 8765
EGRESS_PORT = 8766
# /etc entries programs need to run; nothing else of /etc is visible.
ETC = (
    "passwd", "group", "nsswitch.conf", "hosts", "host.conf", "ld.so.cache", "ld.so.conf",
    "ld.so.conf.d", "alternatives", "localtime", "timezone", "ssl", "ca-certificates",
    "ca-certificates.conf", "mime.types", "os-release", "debian_version",
)  # fmt: skip
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Caches tools write below node_modules while checking or building: scratch, never kept.
SCRATCH = ("node_modules/.cache", "node_modules/.vite", "node_modules/.vitest")
SKIP_WALK = frozenset({".git", "node_modules"})
_SOURCE_ROOT = Path(__file__).resolve().parents[2]  # where `agent` is importable from


@dataclass(frozen=True)
class View:
    """What one boxed run sees of the host. Paths are host paths."""

    repo: Path
    home: Path  # fresh and empty for this run (outside the repo)
    writable: tuple[str, ...] = ()  # repo-relative folders the run may change
    readonly: tuple[Path, ...] = ()  # extra host paths visible read-only at the same place
    outside: tuple[Path, ...] = ()  # host folders outside the repo, writable (the CLI's config)
    bridges: tuple[tuple[Path, int], ...] = ()  # host unix socket -> loopback port in the box
    masked: tuple[Path, ...] = field(default=())  # secret-shaped paths in the tree


def secret_files(repo: Path) -> tuple[Path, ...]:
    """Secret-shaped files and folders in the working tree (not below .git or node_modules)."""
    found = []
    for here, dirs, files in os.walk(repo):
        rel_here = Path(here).relative_to(repo)
        for name in sorted(dirs):
            if name in SKIP_WALK:
                dirs.remove(name)
            elif is_secret(str(rel_here / name)):
                found.append(Path(here) / name)
                dirs.remove(name)
        found += [Path(here) / f for f in sorted(files) if is_secret(str(rel_here / f))]
    return tuple(found)


def view_for(
    repo: Path,
    home: Path,
    writable: tuple[str, ...],
    readonly: tuple[Path, ...] = (),
    outside: tuple[Path, ...] = (),
    bridges: tuple[tuple[Path, int], ...] = (),
) -> View:
    """A view of `repo` with its secret-shaped files masked and the writable folders created."""
    for rel in writable:
        (repo / rel).mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    return View(repo, home, writable, readonly, outside, bridges, secret_files(repo))


class Box:
    """Builds the argv that runs a command inside the box on this machine's rung."""

    def __init__(self, isolation: Isolation, toolchain: tuple[Path, ...]) -> None:
        self.isolation = isolation
        self.toolchain = tuple(p for p in toolchain if not _under_system(p))

    @property
    def rung(self) -> Rung:
        return self.isolation.rung

    def home_in_box(self, view: View) -> str:
        return BOX_HOME if self._bwrap else str(view.home)

    def tmp_in_box(self, view: View) -> str:
        return "/tmp" if self._bwrap else str(view.home / ".tmp")

    def loopback_port(self, socket_port: int, tcp_port: int) -> int:
        """Where a bridged service is reached from inside: the box's own port, or the host's."""
        return socket_port if self._bwrap else tcp_port

    @property
    def bridged(self) -> bool:
        """Services are reached through socket bridges (own network namespace)?"""
        return self._bwrap

    @property
    def _bwrap(self) -> bool:
        return self.rung in (Rung.BUBBLEWRAP, Rung.BUBBLEWRAP_SETUID)

    def wrap(self, view: View, argv: list[str], env: dict[str, str]) -> list[str]:
        """`argv` with exactly `env`, inside the box (a cleared environment on `none`)."""
        clean = ["/usr/bin/env", "-i", *(f"{k}={v}" for k, v in sorted(env.items())), *argv]
        # The box's own first process (bwrap's init, the Landlock launcher) starts with an empty
        # environment too: its /proc/<pid>/environ is readable from inside.
        if self._bwrap:
            return ["/usr/bin/env", "-i", *self._bwrap_argv(view, clean)]
        if self.rung is Rung.LANDLOCK:
            Path(self.tmp_in_box(view)).mkdir(parents=True, exist_ok=True)
            spec = json.dumps(self._landlock_rules(view))
            launcher = [sys.executable, "-m", "agent.guard.landlock", spec, "--", *clean]
            return ["/usr/bin/env", "-i", f"PYTHONPATH={_SOURCE_ROOT}", *launcher]
        return clean

    def _bwrap_argv(self, view: View, inner: list[str]) -> list[str]:
        empty = _empty_file(view)
        args = [self.isolation.bwrap, *UNSHARE, "--die-with-parent", "--new-session"]
        args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/run"]
        for path in SYSTEM_DIRS:
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        for name in ETC:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        for path in (*self.toolchain, *view.readonly):
            args += ["--ro-bind", str(path), str(path)]
        args += ["--dir", BOX_HOME, "--tmpfs", BOX_HOME]  # private, empty, gone after the run
        repo = str(view.repo)
        args += ["--ro-bind", repo, repo]
        for rel in view.writable:
            args += ["--bind", str(view.repo / rel), str(view.repo / rel)]
        for rel in SCRATCH:
            if (view.repo / rel).is_dir() and not (view.repo / rel).is_symlink():
                args += ["--tmpfs", str(view.repo / rel)]
        git = view.repo / ".git"
        if git.is_dir() and not git.is_symlink():
            args += ["--tmpfs", str(git), "--remount-ro", str(git)]
        elif git.exists() or git.is_symlink():
            args += ["--ro-bind", str(empty), str(git)]
        for path in view.masked:
            if path.is_dir() and not path.is_symlink():
                args += ["--tmpfs", str(path), "--remount-ro", str(path)]
            elif not path.is_symlink():
                args += ["--ro-bind", str(empty), str(path)]
        for path in view.outside:
            args += ["--bind", str(path), str(path)]
        for i, (socket, _port) in enumerate(view.bridges):
            args += ["--ro-bind", str(socket), f"{BOX_RUN}/bridge{i}.sock"]
        args += ["--chdir", repo, "--"]
        if not view.bridges:
            return [*args, *inner]
        return [*args, "/bin/sh", "-c", _bridge_script(view.bridges), "shipit-box", *inner]

    def _landlock_rules(self, view: View) -> dict:
        """Landlock cannot hide a file below an allowed folder, so the tree is allowed entry by
        entry, leaving out .git and the secret-shaped paths."""
        masked = {str(p) for p in view.masked} | {str(view.repo / ".git")}
        writable = [str(view.repo / rel) for rel in view.writable]
        readable = _entries_without(view.repo, masked, set(writable))
        system = [p for p in SYSTEM_DIRS if os.path.isdir(p) and not os.path.islink(p)]
        etc = [f"/etc/{n}" for n in ETC if os.path.exists(f"/etc/{n}")]
        return {
            "list": [str(view.repo)],
            "read": [*system, *etc, *map(str, self.toolchain), *map(str, view.readonly), *readable],
            "write": [*writable, *map(str, view.outside), str(view.home), "/dev/null", "/dev/tty"],
            "device_read": ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"],
            "connect_tcp": [port for _sock, port in view.bridges],
        }


def _bridge_script(bridges: tuple[tuple[Path, int], ...]) -> str:
    """Start one socat per bridge, wait until each listens (read from /proc/net/tcp, bounded),
    then exec the command: the CLI's first request never races its bridge."""
    lines = []
    for i, (_sock, port) in enumerate(bridges):
        listen = f"TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr"
        lines.append(f"socat {listen} UNIX-CONNECT:{BOX_RUN}/bridge{i}.sock &")
        entry = f"0100007F:{port:04X} 00000000:0000 0A"
        lines.append(
            f"n=0; until grep -q '{entry}' /proc/net/tcp; do n=$((n+1)); "
            f'[ "$n" -gt 5000 ] && {{ echo "shipit box: bridge {port} did not start" >&2; exit 125; }}; '
            "done"
        )
    lines.append('exec "$@"')
    return "\n".join(lines)


def _entries_without(repo: Path, masked: set[str], writable: set[str]) -> list[str]:
    """Repo paths to allow read access to: whole folders where nothing below is masked."""
    out: list[str] = []

    def visit(folder: Path) -> None:
        for child in sorted(folder.iterdir()):
            path = str(child)
            if path in masked or path in writable:
                continue
            if (
                child.is_dir()
                and not child.is_symlink()
                and any(m.startswith(path + "/") for m in masked | writable)
            ):
                visit(child)
            else:
                out.append(path)

    visit(repo)
    return out


def _empty_file(view: View) -> Path:
    """An empty, read-only stand-in for masked files (a bound /dev/null is unreadable: nodev)."""
    empty = view.home.parent / f".{view.home.name}.empty"
    empty.write_bytes(b"")
    return empty


def _under_system(path: Path) -> bool:
    return any(str(path) == d or str(path).startswith(d + "/") for d in SYSTEM_DIRS)


def quote(argv: list[str]) -> str:
    """A shell line for a wrapper script."""
    return " ".join(shlex.quote(a) for a in argv)
