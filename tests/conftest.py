"""Fixtures shared by every test folder."""

from __future__ import annotations

import os

import boto3
import pytest


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
