"""Secrets Shipit's own code needs (bot token, deploy key): from Secrets Manager or local files.

They live only in this process and in a key file outside the workspace; the agent's tools run with
an environment that has none of them, and the guardrails refuse reads of the key file.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from agent.settings import Settings, SettingsError

KEY_DIR = Path(os.environ.get("TMPDIR", "/tmp")) / "shipit-secrets"


def _secret_value(client, arn: str) -> str:
    return client.get_secret_value(SecretId=arn)["SecretString"].strip()


def bot_token(settings: Settings, secrets_client=None) -> str:
    if settings.bot_token:
        return settings.bot_token
    if settings.bot_token_secret_arn:
        return _secret_value(secrets_client, settings.bot_token_secret_arn)
    raise SettingsError("SHIPIT_BOT_TOKEN", "set it, or SHIPIT_BOT_TOKEN_SECRET_ARN")


def deploy_key_file(
    settings: Settings, secrets_client=None, key_dir: Path = KEY_DIR
) -> Path | None:
    """The SSH deploy key as a 0600 file, or None when the repo is reached without one."""
    if settings.deploy_key_file:
        return Path(settings.deploy_key_file)
    if not settings.deploy_key_secret_arn:
        return None
    key = _secret_value(secrets_client, settings.deploy_key_secret_arn)
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = key_dir / "deploy_key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return path


def git_ssh_command(key: Path | None, known_hosts: Path) -> str:
    if key is None:
        return ""
    return shlex.join(
        [
            "ssh",
            "-i",
            str(key),
            "-o",
            "IdentitiesOnly=yes",
            # First contact with GitHub records its key; later changes are refused.
            "-o",
            "StrictHostKeyChecking=accept-new",
            "-o",
            f"UserKnownHostsFile={known_hosts}",
        ]
    )
