"""The relay asset is self-contained: its own boto3 knows bedrock-agentcore, without site-packages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def _relay_asset(synth) -> Path:
    assets = json.loads((synth.outdir / "Shipit.assets.json").read_text())
    for asset in assets["files"].values():
        folder = synth.outdir / asset["source"]["path"]
        if (folder / "relay" / "handler.py").is_file():
            return folder
    raise AssertionError("no relay asset in the cloud assembly")


def test_asset_layout(synth) -> None:
    asset = _relay_asset(synth)
    for name in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"):
        assert (asset / name).exists(), name
    assert (asset / "botocore" / "data" / "bedrock-agentcore").is_dir()
    assert not list(asset.rglob("__pycache__"))
    assert not (asset / "relay" / "tests").exists()


def test_handler_imports_from_the_asset_alone(synth) -> None:
    asset = _relay_asset(synth)
    # -S: no site-packages, so every import must come from the asset or the standard library.
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import boto3, relay.handler;"
        "assert boto3.__file__.startswith(sys.argv[1]), boto3.__file__;"
        "s = boto3.session.Session(region_name='eu-west-1');"
        "assert 'bedrock-agentcore' in s.get_available_services();"
        "assert callable(relay.handler.handler); print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(asset)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
