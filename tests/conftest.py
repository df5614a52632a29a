"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# npm's download cache warmed by .ci/run from the example apps' lockfiles: tests install from it
# offline and never reach the registry.
NPM_SEED_CACHE = Path(
    os.environ.get("SHIPIT_TEST_NPM_SEED", Path.home() / ".cache" / "shipit-test-npm")
)
# Installed packages shared by the tests (keyed by lockfile, so sharing is safe). Not under
# /tmp: the repo's checks run in a sandbox with its own /tmp and must see the packages.
TEST_DEPS_CACHE = REPO_ROOT / ".shipit" / "test-cache"


@pytest.fixture(scope="session")
def npm_seed() -> Path:
    """The warmed npm cache; a clear failure (not a skip) when .ci/run has not made it."""
    if not (NPM_SEED_CACHE / "_cacache").is_dir():
        pytest.fail(f"no warmed npm cache at {NPM_SEED_CACHE}: run .ci/run (it warms it once)")
    return NPM_SEED_CACHE


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Dummy AWS credentials and region; nothing inherited from real AWS_ or SHIPIT_ settings."""
    for name in list(os.environ):
        if name.startswith(("SHIPIT_", "AWS_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # This botocore reads AWS_DEFAULT_REGION; Lambda and AgentCore set both.
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # boto3.client() shares one default session that caches credentials: start each test fresh.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
