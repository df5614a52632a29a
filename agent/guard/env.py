"""The environments the CLI and the repo's commands run with: built from nothing, never inherited.

Anything in a boxed process's environment is readable by the model (`env`, /proc/self/environ),
so each one gets exactly the variables named here: no bot token, webhook secret, deploy key, model
key or cloud credential is ever among them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# Variables the SDK itself sets for the CLI; their values are not secret. The run's wrapper
# passes them on from its own environment.
SDK_VARIABLES = (
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_AGENT_SDK_VERSION",
    "CLAUDE_AGENT_SDK_CLIENT_APP",
    "CLAUDE_AGENT_SDK_DERIVED_CLIENT_APP",
    "CLAUDE_CODE_EMIT_SESSION_STATE_EVENTS",
    "CLAUDE_CODE_SDK_READS_SESSION_STATE",
    "CLAUDE_CODE_ENABLE_SDK_FILE_CHECKPOINTING",
)

# Quiet, deterministic CLI: no autoupdate, telemetry or side traffic.
CLI_FIXED = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    # bypassPermissions is refused as root without it; the box and the hook are the gates.
    "IS_SANDBOX": "1",
}


def tool_path() -> str:
    """PATH with wherever this process finds node, npm and git first, then the system dirs.

    First, so a boxed command runs the same node as Shipit itself resolves (a newer one under
    /opt or /usr/local), not an older distribution node that /usr/bin may also hold.
    """
    dirs = []
    for tool in ("node", "npm", "git"):
        found = shutil.which(tool)
        if found:
            dirs.append(str(Path(found).parent))
    return ":".join(dict.fromkeys([*dirs, "/usr/local/bin", "/usr/bin", "/bin"]))


def toolchain_dirs() -> tuple[Path, ...]:
    """Folders outside /usr that the toolchain lives in (a node install under /opt, say), shown
    read-only in the box: the install prefix above each tool's bin/."""
    out = []
    for entry in tool_path().split(":"):
        path = Path(entry)
        if not str(path).startswith(("/usr/", "/bin", "/sbin")) and path.name == "bin":
            out.append(path.parent)
    return tuple(dict.fromkeys(out))


def command_env(home: str, tmp: str = "/tmp") -> dict[str, str]:
    """Environment for the repo's own commands (install, checks, build) and the CLI's tools."""
    return {
        "PATH": tool_path(),
        "HOME": home,
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "CI": "1",
        "NO_COLOR": "1",
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
    }


def cli_env(home: str, tmp: str, config_dir: str, model_env: dict[str, str]) -> dict[str, str]:
    """Everything the `claude` CLI gets: tool env, its config dir, quiet flags, model routing.

    `model_env` points the CLI at Shipit's model proxy with one run's grant in the URL; it holds
    no real key or cloud credential.
    """
    env = command_env(home, tmp)
    env["CLAUDE_CONFIG_DIR"] = config_dir
    env.update(CLI_FIXED)
    env.update(model_env)
    if model_env.get("ANTHROPIC_MODEL"):
        # The CLI's background "small fast" calls use the same model: the runtime role may
        # invoke only the configured one.
        env["ANTHROPIC_DEFAULT_HAIKU_MODEL"] = model_env["ANTHROPIC_MODEL"]
        env["ANTHROPIC_SMALL_FAST_MODEL"] = model_env["ANTHROPIC_MODEL"]
    return env
