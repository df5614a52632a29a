"""Whether bubblewrap can really sandbox here: installed is not enough inside some containers."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache


@cache
def usable_bwrap() -> str | None:
    """Path of a bwrap that can create the namespaces Shipit uses, else None (probed once)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None
    probe = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    probe += ["--unshare-net", "--unshare-pid", "--die-with-parent", "/bin/true"]
    try:
        ok = subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return bwrap if ok else None


def os_sandbox_available() -> bool:
    """The SDK's Bash sandbox needs a working bwrap and socat."""
    return usable_bwrap() is not None and shutil.which("socat") is not None
