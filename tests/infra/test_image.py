"""The agent image stays within AgentCore's 1 GB limit, computed from what the Dockerfile installs."""

from __future__ import annotations

import importlib.metadata

import pytest

from tests.infra import image_size


@pytest.fixture(scope="module")
def estimate() -> image_size.Estimate:
    return image_size.estimate()


def test_image_fits_the_budget(estimate) -> None:
    print("\n" + estimate.table())
    assert estimate.total_mb <= image_size.LIMIT_MB, estimate.table()


def test_every_part_is_counted(estimate) -> None:
    parts = estimate.parts
    # Measured parts must be real measurements, not zeros that would hide a broken probe.
    assert parts["Debian packages"] > 50  # git alone is ~44 MB
    assert parts["other Python deps"] > 30  # botocore alone is ~20 MB
    assert parts["claude-agent-sdk (arm64 CLI)"] > 300


def test_recorded_cli_size_is_for_the_pinned_sdk() -> None:
    # A bump of the SDK must re-measure its arm64 wheel (see image_size.CLAUDE_SDK).
    name, version, _ = image_size.CLAUDE_SDK
    assert importlib.metadata.version(name) == version


def test_recorded_node_size_is_for_the_node_major() -> None:
    # A bump of .node-version must re-measure that major's build (see image_size.NODE_BUILD).
    assert image_size.NODE_BUILD[0].split(".")[0] == image_size.NODE_MAJOR


def test_estimate_grows_with_what_the_dockerfile_installs() -> None:
    """The Debian part follows the Dockerfile: adding a package adds its closure."""
    base = (image_size.REPO_ROOT / "Dockerfile").read_text()
    heavier = base.replace("socat libstdc++6", "socat libstdc++6 python3", 1)
    assert heavier != base
    grown = image_size.debian_bytes(image_size.apt_packages(heavier))
    assert grown > image_size.debian_bytes(image_size.apt_packages(base))


def test_dev_tools_are_not_in_the_image() -> None:
    names = set(image_size.runtime_distributions())
    assert "claude-agent-sdk" in names and "boto3" in names
    for dev in ("pytest", "aws-cdk-lib", "moto", "ruff", "cfn-lint"):
        assert dev not in names
