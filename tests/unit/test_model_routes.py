"""Which integration a model is served on, and where the proxy sends it: pure, no I/O."""

from __future__ import annotations

import pytest

from agent.model_routes import (
    INVOKE_MODEL,
    MESSAGES_API,
    bedrock_integration,
    bedrock_route,
    messages_api_model_id,
    model_name,
)


@pytest.mark.parametrize(
    ("model_id", "name", "integration"),
    [
        ("us.anthropic.claude-sonnet-4-6", "claude-sonnet-4-6", INVOKE_MODEL),
        ("us.anthropic.claude-opus-4-6-v1", "claude-opus-4-6", INVOKE_MODEL),
        ("anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5", INVOKE_MODEL),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5", INVOKE_MODEL),
        ("anthropic.claude-sonnet-5-5", "claude-sonnet-5-5", MESSAGES_API),
        ("anthropic.claude-opus-4-7", "claude-opus-4-7", MESSAGES_API),
        ("us.anthropic.claude-opus-5", "claude-opus-5", MESSAGES_API),
        ("anthropic.claude-fable-5-2", "claude-fable-5-2", MESSAGES_API),
    ],
)
def test_integration_follows_the_model(model_id, name, integration) -> None:
    assert model_name(model_id) == name
    assert bedrock_integration(model_id) == integration


def test_messages_api_ids_have_no_profile_prefix() -> None:
    assert messages_api_model_id("us.anthropic.claude-sonnet-5-5") == "anthropic.claude-sonnet-5-5"


def test_messages_api_route_default_and_override() -> None:
    route = bedrock_route("eu-west-1", "anthropic.claude-sonnet-5-5")
    assert route.integration == MESSAGES_API and route.signing_name == "bedrock-mantle"
    assert route.base_for(b"/v1/messages") == "https://bedrock-mantle.eu-west-1.api.aws/anthropic"
    # Shipit's own InvokeModel overrides do not move the Messages-API endpoint.
    env = {
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://127.0.0.1:1",
        "ANTHROPIC_BEDROCK_MANTLE_BASE_URL": "http://127.0.0.1:2/anthropic",
    }
    moved = bedrock_route("eu-west-1", "anthropic.claude-sonnet-5-5", "http://127.0.0.1:3", env)
    assert moved.base_for(b"/v1/messages") == "http://127.0.0.1:2/anthropic"
    assert moved.base_for(b"/model/x/invoke") == "http://127.0.0.1:2/anthropic"


def test_invoke_model_route_splits_runtime_and_control_plane() -> None:
    route = bedrock_route("us-west-2", "us.anthropic.claude-sonnet-4-6")
    assert route.integration == INVOKE_MODEL and route.signing_name == "bedrock"
    assert route.base_for(b"/model/m/invoke") == "https://bedrock-runtime.us-west-2.amazonaws.com"
    assert route.base_for(b"/inference-profiles") == "https://bedrock.us-west-2.amazonaws.com"
    shared = bedrock_route("us-west-2", "us.anthropic.claude-sonnet-4-6", "http://127.0.0.1:4")
    assert shared.base_for(b"/model/m/invoke") == shared.base_for(b"/x") == "http://127.0.0.1:4"
