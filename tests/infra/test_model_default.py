"""The default model is the newest Sonnet the pinned CLI knows, on the integration Bedrock serves it
on; IAM allows exactly the configured model on either integration (synthesized both ways)."""

from __future__ import annotations

import json
import mmap
import re

import claude_agent_sdk
import pytest
from cfnlint.api import lint
from cfnlint.config import ManualArgs

from agent.model_routes import (
    INVOKE_MODEL,
    MESSAGES_API,
    MESSAGES_API_REGIONS,
    bedrock_integration,
)
from infra.config import ModelRef
from infra.zones import AGENTCORE_AZ_IDS
from tests.infra.conftest import cdk_context
from tests.infra.template_helpers import actions, granting, runtime, runtime_role_id, statements
from tests.infra.test_checks import IGNORED, LINT_REGIONS

CLI = claude_agent_sdk.__file__.rsplit("/", 1)[0] + "/_bundled/claude"
INVOKE_MODEL_ID = "us.anthropic.claude-sonnet-4-6"


@pytest.fixture(scope="module")
def catalog() -> dict[str, dict[str, str]]:
    """The CLI's baked-in model catalog: model id -> provider ids (bedrock, mantle, ...)."""
    with open(CLI, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        entries = re.findall(
            rb'\{id:"(claude-[a-z0-9-]+)",family:.{0,200}?provider_ids:\{([^}]*)\}', data
        )
    found = {}
    for model_id, ids in entries:
        pairs = re.findall(rb'([a-z_]+):(null|"[^"]*")', ids)
        found[model_id.decode()] = {k.decode(): v.decode().strip('"') for k, v in pairs}
    assert len(found) > 10, "the CLI's model catalog was not found"
    return found


def _version(name: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", name)]


def test_default_is_the_newest_sonnet_the_cli_knows(catalog) -> None:
    default = cdk_context()["model"]
    sonnets = [m for m in catalog if m.startswith("claude-sonnet-")]
    newest = max(sonnets, key=_version)
    # The CLI sends the catalog's Messages-API ("mantle") id for it: that is the default.
    assert catalog[newest]["mantle"] == default
    assert bedrock_integration(default) == MESSAGES_API


def test_every_messages_api_model_in_the_table_is_one_the_cli_has_an_id_for(catalog) -> None:
    """The table in agent/model_routes.py against the pinned CLI: no model listed that the CLI
    cannot send there, and the newest InvokeModel-only Sonnet stays on InvokeModel."""
    for name, entry in catalog.items():
        if bedrock_integration(f"anthropic.{name}") == MESSAGES_API:
            assert entry["mantle"] == f"anthropic.{name}", name
    assert bedrock_integration(catalog["claude-sonnet-4-6"]["bedrock"]) == INVOKE_MODEL
    assert bedrock_integration(catalog["claude-opus-4-6"]["bedrock"]) == INVOKE_MODEL


def test_the_messages_api_regions_are_ones_the_stack_deploys_to() -> None:
    assert set(AGENTCORE_AZ_IDS) >= MESSAGES_API_REGIONS


def _model_statements(synth) -> list[dict]:
    return [
        s
        for s in statements(synth, runtime_role_id(synth))
        if any(a.startswith(("bedrock:", "bedrock-mantle:")) for a in actions(s))
    ]


def test_default_grant_is_create_inference_for_exactly_that_model(synth) -> None:
    model = cdk_context()["model"]
    env = runtime(synth)["Properties"]["EnvironmentVariables"]
    assert env["ANTHROPIC_MODEL"] == model and env["CLAUDE_CODE_USE_BEDROCK"] == "1"
    (grant,) = _model_statements(synth)
    assert actions(grant) == ["bedrock-mantle:CreateInference"]
    assert grant["Condition"] == {"StringEquals": {"bedrock-mantle:Model": model}}
    resource = json.dumps(grant["Resource"])
    assert ":bedrock-mantle:" in resource and resource.endswith(':project/default"]]}')
    assert "AWS::Region" in resource and "AWS::AccountId" in resource
    assert "*" not in resource


def _model_region_rules(synth) -> list[dict]:
    return [r for k, r in synth.template.get("Rules", {}).items() if "ModelRegion" in k]


def test_a_deploy_to_a_region_without_the_endpoint_stops_up_front(synth) -> None:
    (rule,) = _model_region_rules(synth)
    (assertion,) = rule["Assertions"]
    assert assertion["Assert"]["Fn::Contains"] == [
        sorted(MESSAGES_API_REGIONS),
        {"Ref": "AWS::Region"},
    ]
    assert "-c model=" in assertion["AssertDescription"]


@pytest.fixture(scope="module")
def invoke_synth(tmp_path_factory):
    """The same app with a model on InvokeModel, synthesized (and cdk-nag checked) as deployed."""
    from infra.app import STACK_NAME, build_app

    outdir = tmp_path_factory.mktemp("cdk.invoke")
    app = build_app({**cdk_context(), "model": INVOKE_MODEL_ID}, str(outdir))
    app.synth()  # raises on any cdk-nag finding not acknowledged

    class Synth:
        template = json.loads((outdir / f"{STACK_NAME}.template.json").read_text())
        stack = app.node.find_child(STACK_NAME)

        def resources(self, cfn_type):
            return {k: v for k, v in self.template["Resources"].items() if v["Type"] == cfn_type}

        def one(self, cfn_type):
            (item,) = self.resources(cfn_type).items()
            return item

    Synth.text = (outdir / f"{STACK_NAME}.template.json").read_text()
    return Synth()


def test_invoke_model_grant_is_exactly_that_model_and_its_profile(invoke_synth) -> None:
    ref = ModelRef.parse(INVOKE_MODEL_ID)
    env = runtime(invoke_synth)["Properties"]["EnvironmentVariables"]
    assert env["ANTHROPIC_MODEL"] == ref.model_id
    found = _model_statements(invoke_synth)
    (invoke,) = granting(found, "bedrock:InvokeModel")
    assert set(actions(invoke)) == {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}
    text = str(invoke["Resource"])
    assert f"foundation-model/{ref.foundation_model_id}'" in text
    assert f"inference-profile/{ref.inference_profile_id}'" in text
    assert text.count("foundation-model/") == 1 and "*'" not in text.replace("bedrock:*::", "")
    assert not granting(found, "bedrock-mantle:CreateInference")
    assert _model_region_rules(invoke_synth) == []


def test_invoke_model_template_is_cfn_lint_clean(invoke_synth) -> None:
    matches = lint(
        invoke_synth.text, config=ManualArgs(regions=LINT_REGIONS, ignore_checks=IGNORED)
    )
    assert [f"{m.rule.id} {m.message}" for m in matches] == []


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("us.anthropic.claude-sonnet-5-5", "use -c model=anthropic.claude-sonnet-5-5"),
        ("global.anthropic.claude-opus-4-7", "use -c model=anthropic.claude-opus-4-7"),
    ],
)
def test_a_messages_api_model_with_a_profile_prefix_fails_clearly(model, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ModelRef.parse(model)


def test_a_messages_api_model_in_a_region_without_that_endpoint_fails_synth() -> None:
    from aws_cdk import App

    from infra.config import ShipitConfig

    region = sorted(set(AGENTCORE_AZ_IDS) - MESSAGES_API_REGIONS)[0]
    app = App(context={**cdk_context(), "region": region})
    with pytest.raises(ValueError, match=f"which '{region}' does not have"):
        ShipitConfig.from_context(app)
    # The same region with a model on InvokeModel is fine.
    ok = App(context={**cdk_context(), "region": region, "model": INVOKE_MODEL_ID})
    assert ShipitConfig.from_context(ok).model.model_id == INVOKE_MODEL_ID
