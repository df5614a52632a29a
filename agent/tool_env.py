"""The environments the agent's tools and the repo's commands run with: built, never inherited.

The Claude Agent SDK layers `options.env` over the whole parent environment, and anything in the
CLI's environment is readable by the model's Bash. So the CLI is started through a tiny wrapper
that clears the environment (`env -i`) and passes only the variables named here: no bot token,
webhook secret, deploy key or cloud credentials ever reach it.
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

from agent.bwrap import usable_bwrap

# Variables the SDK itself sets for the CLI; their values are not secret.
SDK_VARIABLES = (
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_AGENT_SDK_VERSION",
    "CLAUDE_AGENT_SDK_CLIENT_APP",
    "CLAUDE_AGENT_SDK_DERIVED_CLIENT_APP",
    "CLAUDE_CODE_EMIT_SESSION_STATE_EVENTS",
    "CLAUDE_CODE_SDK_READS_SESSION_STATE",
    "CLAUDE_CODE_ENABLE_SDK_FILE_CHECKPOINTING",
    "PWD",
)

# Quiet, deterministic CLI: no autoupdate, telemetry or side traffic.
CLI_FIXED = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    # bypassPermissions is refused as root without it; the hook policy is the gate, not prompts.
    "IS_SANDBOX": "1",
}
# Strips model credentials from every subprocess the CLI starts (Bash tool, hooks). CLI 2.1.330
# refuses to start with it unless bubblewrap is installed, so it is only set where bwrap exists.
SCRUB = "CLAUDE_CODE_SUBPROCESS_ENV_SCRUB"


def tool_path() -> str:
    """PATH with the system dirs plus wherever node and git live (target apps need them)."""
    dirs = ["/usr/local/bin", "/usr/bin", "/bin"]
    for tool in ("node", "npm", "git"):
        found = shutil.which(tool)
        if found and str(Path(found).parent) not in dirs:
            dirs.append(str(Path(found).parent))
    return ":".join(dirs)


def command_env(home: Path) -> dict[str, str]:
    """Environment for the repo's own commands (install, validate, build) and the model's tools."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": tool_path(),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "CI": "1",
        "NO_COLOR": "1",
        "npm_config_update_notifier": "false",
    }


def cli_env(home: Path, claude_config_dir: Path, model_env: dict[str, str]) -> dict[str, str]:
    """Everything the `claude` CLI gets: tool env, its config dir, quiet flags, model routing.

    `model_env` points the CLI at Shipit's loopback model proxy (agent/model_proxy.py), so it
    holds no real key or cloud credential.
    """
    claude_config_dir.mkdir(parents=True, exist_ok=True)
    env = command_env(home)
    env["CLAUDE_CONFIG_DIR"] = str(claude_config_dir)
    env.update(CLI_FIXED)
    if usable_bwrap():
        env[SCRUB] = "1"
    env.update(model_env)
    if model_env.get("ANTHROPIC_MODEL"):
        # The CLI's background "small fast" calls use the same model: the runtime role may
        # invoke only the configured one.
        env["ANTHROPIC_DEFAULT_HAIKU_MODEL"] = model_env["ANTHROPIC_MODEL"]
        env["ANTHROPIC_SMALL_FAST_MODEL"] = model_env["ANTHROPIC_MODEL"]
    return env


def write_cli_wrapper(directory: Path, cli: Path, names: list[str]) -> Path:
    """A launcher that runs `cli` with only the named variables of its own environment.

    Name exactly the variables Shipit sets in `options.env` (plus the SDK's own): a listed name
    Shipit does not set would pass the parent's value through.
    """
    directory.mkdir(parents=True, exist_ok=True)
    keep = " ".join(f'${{{n}+"{n}=${n}"}}' for n in sorted(set(names) | set(SDK_VARIABLES)))
    script = f'#!/bin/sh\n# Written by Shipit: start the CLI with a cleared environment.\nexec /usr/bin/env -i {keep} "{cli}" "$@"\n'
    path = directory / "claude-clean-env"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(script)
    tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    tmp.replace(path)
    return path
