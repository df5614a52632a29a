"""Synthesize the Shipit app once for the whole infra test run, exactly as `cdk deploy` would."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.config import REPO_ROOT


@dataclass
class Synth:
    """The synthesized app: template, assertion helper, cloud assembly folder, timing."""

    app: Any
    stack: Any
    template: dict
    assertions: Any
    outdir: Path
    seconds: float

    def resources(self, cfn_type: str) -> dict[str, dict]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == cfn_type}

    def one(self, cfn_type: str) -> tuple[str, dict]:
        found = self.resources(cfn_type)
        assert len(found) == 1, f"expected one {cfn_type}, found {sorted(found)}"
        return next(iter(found.items()))


def cdk_context() -> dict:
    return json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    from aws_cdk.assertions import Template

    from infra.app import STACK_NAME, build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    started = time.perf_counter()
    app = build_app(cdk_context(), str(outdir))
    # Raises if cdk-nag (registered by build_app) finds anything not acknowledged.
    app.synth()
    seconds = time.perf_counter() - started
    stack = app.node.find_child(STACK_NAME)
    template = json.loads((outdir / f"{STACK_NAME}.template.json").read_text())
    return Synth(app, stack, template, Template.from_json(template), outdir, seconds)
