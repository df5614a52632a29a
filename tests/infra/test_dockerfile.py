"""The container starts like the local stack, runs as the workspace's user, and has its tools."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from infra.config import AGENT_GID, AGENT_UID, REPO_ROOT
from local.agent_process import AGENT_START_COMMAND
from tests.infra.image_size import NODE_MAJOR

DOCKERFILE = REPO_ROOT / "Dockerfile"


def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuations joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # comment lines inside a continued instruction are ignored by Docker
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends inside a continued line"
    return instructions


def _all(instructions, keyword: str) -> list[str]:
    return [args for kw, args in instructions if kw == keyword]


def _env(instructions) -> dict[str, str]:
    env: dict[str, str] = {}
    for args in _all(instructions, "ENV"):
        for pair in shlex.split(args):
            key, _, value = pair.partition("=")
            env[key] = value
    return env


def _arg_defaults(instructions) -> dict[str, str]:
    return dict(arg.split("=", 1) for arg in _all(instructions, "ARG") if "=" in arg)


@pytest.fixture(scope="module")
def instructions() -> list[tuple[str, str]]:
    return parse_dockerfile(DOCKERFILE.read_text())


def test_start_command_is_the_local_stacks(instructions) -> None:
    cmds = _all(instructions, "CMD")
    assert len(cmds) == 1
    # Exec form (a JSON array), so the agent is PID 1 and gets the runtime's signals.
    assert json.loads(cmds[0]) == AGENT_START_COMMAND
    assert not _all(instructions, "ENTRYPOINT")


def test_stages_are_official_multi_arch_images(instructions) -> None:
    assert _all(instructions, "FROM") == [
        f"node:{NODE_MAJOR}-bookworm-slim AS node",
        "python:3.13-slim-bookworm AS python-deps",
        # The final image: the same Python, so the copied venv's interpreter links stay valid.
        "python:3.13-slim-bookworm",
    ]


def test_node_is_current_and_the_same_major_as_ci(instructions) -> None:
    # Node 20 reached end of life in 2026-04 (jsii dropped it 2026-10-30); 24 is Active LTS.
    assert int(NODE_MAJOR) >= 22
    (node_stage,) = [f for f in _all(instructions, "FROM") if f.endswith(" AS node")]
    assert re.fullmatch(r"node:(\d+)-bookworm-slim AS node", node_stage).group(1) == NODE_MAJOR
    copies = _all(instructions, "COPY")
    assert "--from=node /usr/local/bin/node /usr/local/bin/node" in copies
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    # CI reads the same file and refuses to run tests on another major.
    assert ".node-version" in ci and "node --version" in ci


def test_setuid_bwrap_for_hosts_without_user_namespaces(instructions) -> None:
    run = " ".join(_all(instructions, "RUN"))
    assert (
        "install -m 4755 -o root -g root /usr/bin/bwrap /usr/local/libexec/shipit/bwrap-suid" in run
    )


def test_runs_as_the_access_points_user(instructions) -> None:
    args = _arg_defaults(instructions)
    assert (int(args["SHIPIT_UID"]), int(args["SHIPIT_GID"])) == (AGENT_UID, AGENT_GID)
    users = _all(instructions, "USER")
    assert users == ["${SHIPIT_UID}:${SHIPIT_GID}"]
    # The user is created with exactly those ids, and USER comes after everything run as root.
    run = " ".join(_all(instructions, "RUN"))
    assert '--uid "${SHIPIT_UID}"' in run and '--gid "${SHIPIT_GID}"' in run
    keywords = [kw for kw, _ in instructions]
    assert keywords.index("USER") > max(i for i, kw in enumerate(keywords) if kw == "RUN")


def test_environment(instructions) -> None:
    env = _env(instructions)
    assert env["DOCKER_CONTAINER"] == "1"
    assert env["PATH"].startswith("/app/.venv/bin:")
    assert set(_all(instructions, "WORKDIR")) == {"/app"}
    assert _all(instructions, "EXPOSE") == ["8080"]


def test_system_packages(instructions) -> None:
    run = " ".join(_all(instructions, "RUN"))
    for package in ("git", "openssh-client", "bubblewrap", "socat", "ca-certificates"):
        assert f" {package} " in f" {run} ", package
    # Debian's nodejs is 18 (end of life): Node comes from the node stage instead.
    assert " nodejs " not in f" {run} "


def test_dependencies_come_from_the_lock(instructions) -> None:
    assert "uv sync --frozen --no-dev --no-cache" in " ".join(_all(instructions, "RUN"))
    copies = [c for c in _all(instructions, "COPY") if not c.startswith("--from=node")]
    assert copies == [
        "pyproject.toml uv.lock ./",
        "--from=python-deps /app/.venv /app/.venv",
        "agent/ agent/",
        "prompts/ prompts/",
    ]


def test_no_package_manager_cache_in_any_layer(instructions) -> None:
    for run in _all(instructions, "RUN"):
        if "apt-get install" in run:
            # In the same layer, or the lists stay in the image.
            assert "rm -rf /var/lib/apt/lists/*" in run
        if "pip install" in run:
            assert "--no-cache-dir" in run
        if "uv sync" in run:
            assert "--no-cache" in run
        assert "npm install" not in run and "npm ci" not in run
    assert _env(instructions)["UV_NO_CACHE"] == "1"


def test_build_context_is_only_what_the_image_needs(synth) -> None:
    assets = json.loads((synth.outdir / "Shipit.assets.json").read_text())
    # The agent's image (the screenshot Lambda's image is tested in test_screenshot.py).
    (image,) = [
        i
        for i in assets["dockerImages"].values()
        if (synth.outdir / i["source"]["directory"] / "agent").is_dir()
    ]
    assert image["source"]["platform"] == "linux/arm64"
    context = synth.outdir / image["source"]["directory"]
    top = sorted(p.name for p in context.iterdir())
    assert top == [".dockerignore", "Dockerfile", "agent", "prompts", "pyproject.toml", "uv.lock"]
    assert not list(Path(context).rglob("__pycache__"))


def test_start_command_and_user_are_what_the_self_check_expects(instructions) -> None:
    from agent import selfcheck, selfcheck_probes

    (cmd,) = _all(instructions, "CMD")
    assert json.loads(cmd) == list(selfcheck.START_COMMAND) == AGENT_START_COMMAND
    args = _arg_defaults(instructions)
    assert int(args["SHIPIT_UID"]) == selfcheck.CONTAINER_UID == AGENT_UID
    run = " ".join(_all(instructions, "RUN"))
    assert f"/usr/bin/bwrap {selfcheck_probes.SETUID_BWRAP}" in run
