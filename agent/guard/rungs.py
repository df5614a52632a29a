"""Which isolation works on this machine, probed once at start-up: installed is not enough.

The rungs, strongest first:
- `bubblewrap`: bwrap with namespaces (mount, pid, net, ipc, uts), run as this user;
- `bubblewrap-setuid`: the same box from a setuid-root copy of bwrap, for hosts where
  unprivileged user namespaces are off (container seccomp profiles often block them);
- `landlock`: no namespaces needed: filesystem and TCP rules enforced by the kernel (ABI >= 4);
- `none`: no box. Change requests are then refused unless the owner opts out explicitly.
Each bubblewrap rung also needs socat (it bridges the model proxy's socket into the box).
"""

from __future__ import annotations

import ctypes
import enum
import platform
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Where the container image keeps a setuid-root bwrap (see the Dockerfile).
SETUID_BWRAP = Path("/usr/local/libexec/shipit/bwrap-suid")
# Landlock ABI 4 added TCP bind/connect rules: below that the box would have the network.
LANDLOCK_MIN_ABI = 4
_SYS_LANDLOCK_CREATE_RULESET = {"x86_64": 444, "aarch64": 444}
# Every namespace but the user one, named one by one: a setuid bwrap needs no user namespace
# (and --unshare-all's "try" of one fails for it), an unprivileged bwrap adds one by itself.
UNSHARE = ("--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts")
UNSHARE += ("--unshare-cgroup-try",)


class Rung(enum.Enum):
    BUBBLEWRAP = "bubblewrap"
    BUBBLEWRAP_SETUID = "bubblewrap-setuid"
    LANDLOCK = "landlock"
    NONE = "none"


class SandboxUnavailable(Exception):
    """The rung the owner asked for (SHIPIT_SANDBOX) cannot be built here."""

    def __init__(self, rung: str, problem: str) -> None:
        super().__init__(f"sandbox {rung!r} unavailable: {problem}")
        self.rung = rung
        self.problem = problem


@dataclass(frozen=True)
class Isolation:
    """The rung in use and how to build it (`bwrap` is the binary for the bubblewrap rungs)."""

    rung: Rung
    bwrap: str = ""
    landlock_abi: int = 0
    why_not_stronger: tuple[str, ...] = ()

    @property
    def boxed(self) -> bool:
        return self.rung is not Rung.NONE

    def describe(self) -> str:
        detail = (
            f" (stronger rungs: {'; '.join(self.why_not_stronger)})"
            if self.why_not_stronger
            else ""
        )
        return f"{self.rung.value}{detail}"


def bwrap_works(bwrap: str, as_user: str | None = None) -> str | None:
    """None when `bwrap` can build Shipit's namespaces here, else what went wrong."""
    probe = [bwrap, *UNSHARE, "--die-with-parent", "--ro-bind", "/", "/"]
    probe += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "/bin/true"]
    if as_user:
        probe = ["setpriv", f"--reuid={as_user}", f"--regid={as_user}", "--clear-groups", *probe]
    try:
        proc = subprocess.run(probe, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{bwrap} did not run ({type(exc).__name__})"
    return None if proc.returncode == 0 else (proc.stderr.strip() or f"exit {proc.returncode}")


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 where Landlock is missing or disabled."""
    number = _SYS_LANDLOCK_CREATE_RULESET.get(platform.machine())
    if number is None:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    version = libc.syscall(number, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(version), 0)


def _setuid_candidate(path: Path) -> str | None:
    try:
        mode = path.stat()
    except OSError:
        return f"{path} is missing"
    if not (mode.st_mode & stat.S_ISUID and mode.st_uid == 0):
        return f"{path} is not setuid root"
    return None


def probe(wanted: str = "auto", setuid_bwrap: Path = SETUID_BWRAP) -> Isolation:
    """Find the strongest rung that works (or check the one asked for); never raises for auto."""
    wanted = (wanted or "auto").strip().lower()
    if wanted == Rung.NONE.value:
        return Isolation(Rung.NONE, why_not_stronger=("SHIPIT_SANDBOX=none",))
    notes: list[str] = []
    socat = shutil.which("socat")
    plain = shutil.which("bwrap")
    order = [r for r in Rung if r is not Rung.NONE]
    if wanted != "auto":
        try:
            order = [Rung(wanted)]
        except ValueError as exc:
            raise SandboxUnavailable(wanted, "unknown rung") from exc
    for rung in order:
        if rung is Rung.BUBBLEWRAP:
            problem = "bwrap not installed" if plain is None else bwrap_works(plain)
            binary = plain or ""
        elif rung is Rung.BUBBLEWRAP_SETUID:
            binary = str(setuid_bwrap)
            problem = _setuid_candidate(setuid_bwrap) or bwrap_works(binary)
        else:
            abi = landlock_abi()
            if abi >= LANDLOCK_MIN_ABI:
                return Isolation(rung, landlock_abi=abi, why_not_stronger=tuple(notes))
            notes.append(f"landlock: ABI {abi} < {LANDLOCK_MIN_ABI}")
            continue
        if problem is None and socat is None:
            problem = "socat not installed"
        if problem is None:
            return Isolation(rung, bwrap=binary, why_not_stronger=tuple(notes))
        notes.append(f"{rung.value}: {problem}")
    if wanted != "auto":
        raise SandboxUnavailable(wanted, "; ".join(notes))
    return Isolation(Rung.NONE, why_not_stronger=tuple(notes))
