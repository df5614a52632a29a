"""Secrets Shipit's own code needs (bot token, deploy key): from Secrets Manager or local files.

They live in this process's memory. The deploy key touches the disk only while Shipit's own git
talks to origin (never while agent-written code runs), in a folder the repo's commands cannot see;
the agent's tools run with an environment that has none of them.
"""

from __future__ import annotations

import os
import secrets
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
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


class DeployKey:
    """The SSH deploy key, in memory; written out only for the length of one git network call."""

    def __init__(self, key: str, key_dir: Path = KEY_DIR) -> None:
        self._key = key
        self.key_dir = key_dir

    @classmethod
    def from_settings(cls, settings: Settings, secrets_client=None, key_dir: Path = KEY_DIR):
        """None when the repo is reached without a key (a local path, or public HTTPS)."""
        if settings.deploy_key_file:
            return cls(Path(settings.deploy_key_file).read_text(), key_dir)
        if settings.deploy_key_secret_arn:
            return cls(_secret_value(secrets_client, settings.deploy_key_secret_arn), key_dir)
        return None

    @contextmanager
    def ssh_command(self) -> Iterator[str]:
        """GIT_SSH_COMMAND using the key; the key file is gone again when the block ends."""
        self.key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.key_dir / f"deploy_key.{secrets.token_hex(4)}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(self._key.strip() + "\n")
            yield git_ssh_command(path, self.key_dir / "known_hosts")
        finally:
            path.unlink(missing_ok=True)


def git_ssh_command(key: Path, known_hosts: Path) -> str:
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
