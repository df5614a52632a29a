"""Context parsing: model ids become the right IAM targets; bad secret names fail the synth early."""

from __future__ import annotations

import pytest

from infra.config import ModelRef


@pytest.mark.parametrize(
    ("model_id", "foundation", "profile"),
    [
        (
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        (
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        (
            "anthropic.claude-3-5-haiku-20241022-v1:0",
            "anthropic.claude-3-5-haiku-20241022-v1:0",
            None,
        ),
    ],
)
def test_model_ref(model_id: str, foundation: str, profile: str | None) -> None:
    ref = ModelRef.parse(model_id)
    assert (ref.model_id, ref.foundation_model_id, ref.inference_profile_id) == (
        model_id,
        foundation,
        profile,
    )


@pytest.mark.parametrize(
    "bad", ["", "claude", "arn:aws:bedrock:us-east-1::foundation-model/x", "*"]
)
def test_model_ref_rejects_what_is_not_a_model_id(bad: str) -> None:
    with pytest.raises(ValueError, match="model"):
        ModelRef.parse(bad)


@pytest.mark.parametrize(
    ("name", "message"),
    [("shipit/bot token", "not a Secrets Manager name"), ("shipit/token-abc123", "6 characters")],
)
def test_secret_names_are_checked(name: str, message: str) -> None:
    from aws_cdk import App

    from infra.config import ShipitConfig

    app = App(
        context={
            "model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "botTokenSecretName": name,
            "deployKeySecretName": "shipit/github-deploy-key",
            "webhookRevision": "1",
        }
    )
    with pytest.raises(ValueError, match=message):
        ShipitConfig.from_context(app)
