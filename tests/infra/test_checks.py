"""cfn-lint and cdk-nag (AwsSolutions) are clean on the synthesized template."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match
from cfnlint.api import lint
from cfnlint.config import ManualArgs

from infra.app import STACK_NAME, add_checks

# Regions where AgentCore Runtime, S3 Files and the default model's inference profile exist.
LINT_REGIONS = ["us-east-1", "us-west-2"]
# CDK repeats dependencies that a Ref/GetAtt already implies; harmless, and the only exception.
IGNORED = ["W3005"]


def test_cfn_lint_is_clean(synth) -> None:
    text = (synth.outdir / f"{STACK_NAME}.template.json").read_text()
    matches = lint(text, config=ManualArgs(regions=LINT_REGIONS, ignore_checks=IGNORED))
    assert [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches] == []


def test_cfn_lint_would_catch_a_bad_mount_path(synth) -> None:
    """The lint really checks the runtime's S3 Files configuration (not a vacuous pass)."""
    template = json.loads(json.dumps(synth.template))
    runtime = next(
        r for r in template["Resources"].values() if r["Type"] == "AWS::BedrockAgentCore::Runtime"
    )
    runtime["Properties"]["FilesystemConfigurations"][0]["S3FilesAccessPoint"]["MountPath"] = (
        "/workspace/deep/path"
    )
    matches = lint(
        json.dumps(template), config=ManualArgs(regions=LINT_REGIONS, ignore_checks=IGNORED)
    )
    assert any("MountPath" in "/".join(map(str, m.path)) for m in matches)


def test_cdk_nag_has_no_unacknowledged_findings(synth) -> None:
    # The synth fixture would have raised on any error; warnings and the report must be empty too.
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    assert report["pluginReports"] == []
    annotations = Annotations.from_stack(synth.stack)
    assert annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*")) == []
    assert annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*")) == []


def test_every_suppression_carries_a_reason(synth) -> None:
    acknowledged = {}
    for construct in synth.app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                for rule, reason in entry.data.items():
                    if "AwsSolutions-" in rule:
                        acknowledged[(construct.node.path, rule)] = reason
    assert acknowledged, "expected the stack's documented acknowledgments"
    for (path, rule), reason in acknowledged.items():
        assert len(reason.split()) >= 8, f"{path} {rule}: {reason!r} is not a reason"
    # Nothing is waved through for the whole stack at once.
    assert not [p for p, _ in acknowledged if p == STACK_NAME]


def test_the_nag_pack_really_runs(tmp_path) -> None:
    """The same checks build_app registers fail a synth that breaks a rule."""
    app = App(outdir=str(tmp_path))
    s3.Bucket(Stack(app, "Bad"), "Plain")  # no SSL enforcement, no access logs
    add_checks(app)
    with pytest.raises(RuntimeError, match="AwsSolutions-S10"):
        app.synth()
