"""The default model is one the pinned CLI sends over Bedrock's InvokeModel, the route the proxy speaks."""

from __future__ import annotations

import mmap
import re

import claude_agent_sdk
import pytest

from infra.config import ModelRef
from tests.infra.conftest import cdk_context
from tests.infra.template_helpers import granting, runtime, runtime_role_id, statements

CLI = claude_agent_sdk.__file__.rsplit("/", 1)[0] + "/_bundled/claude"


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


def test_default_is_a_model_the_cli_sends_over_invoke_model(catalog) -> None:
    default = cdk_context()["model"]
    (entry,) = [e for e in catalog.values() if e.get("bedrock") == default]
    # No Messages-API ("mantle") id: the CLI reaches it with InvokeModel, through the proxy.
    assert entry["mantle"] == "null"


def test_default_is_the_newest_sonnet_on_that_route(catalog) -> None:
    default = cdk_context()["model"]
    on_invoke = [m for m, e in catalog.items() if "sonnet" in m and e.get("mantle") == "null"]
    newest = max(on_invoke, key=lambda m: [int(n) for n in re.findall(r"\d+", m)])
    assert catalog[newest]["bedrock"] == default


def test_iam_is_scoped_to_exactly_the_configured_model(synth) -> None:
    ref = ModelRef.parse(cdk_context()["model"])
    env = runtime(synth)["Properties"]["EnvironmentVariables"]
    assert env["ANTHROPIC_MODEL"] == ref.model_id
    (invoke,) = granting(statements(synth, runtime_role_id(synth)), "bedrock:InvokeModel")
    text = str(invoke["Resource"])
    assert f"foundation-model/{ref.foundation_model_id}'" in text
    assert f"inference-profile/{ref.inference_profile_id}'" in text
    assert text.count("foundation-model/") == 1 and "*'" not in text.replace("bedrock:*::", "")
