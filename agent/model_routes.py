"""Which Bedrock integration serves a Claude model, and where and how the proxy sends its calls.

Two integrations, per Anthropic's Bedrock pages (as of 2026-12):
- InvokeModel (`bedrock-runtime.<region>.amazonaws.com/model/<id>/invoke-with-response-stream`,
  AWS event-stream, SigV4 service `bedrock`): "Claude on Amazon Bedrock (Opus 4.6 and earlier)",
  https://platform.claude.com/docs/en/build-with-claude/claude-on-amazon-bedrock-legacy
- the Messages API (`POST <base>/v1/messages`, SSE, the model named in the body): newer models,
  https://platform.claude.com/docs/en/build-with-claude/claude-in-amazon-bedrock. The pinned CLI
  (2.1.330) reaches it as its `mantle` provider: `CLAUDE_CODE_USE_MANTLE=1`, base URL
  `ANTHROPIC_BEDROCK_MANTLE_BASE_URL` (default `https://bedrock-mantle.<region>.api.aws/anthropic`),
  SigV4 service name `bedrock-mantle` (read from the bundled SDK's `AnthropicBedrockMantle`
  client), model ids like `anthropic.claude-sonnet-5-5` (the catalog's `mantle` ids). AWS's own
  page on it: https://docs.aws.amazon.com/bedrock/latest/userguide/inference-messages-api.html

IAM for the Messages-API endpoint (Service Authorization Reference, "Actions, resources, and
condition keys for Amazon Bedrock Powered by AWS Mantle",
https://docs.aws.amazon.com/service-authorization/latest/reference/list_bedrock-mantle.html):
`bedrock-mantle:CreateInference` on a `project` resource
(`arn:aws:bedrock-mantle:<region>:<account>:project/<id>`; every request without a project goes to
the account's `default` project), with the condition key `bedrock-mantle:Model` (and
`bedrock-mantle:ServiceTier`; read through a copy generated from the programmatic reference
https://servicereference.us-east-1.amazonaws.com/v1/bedrock-mantle/bedrock-mantle.json, and used
by AWS's own SCP example, github.com/aws-samples/service-control-policy-examples,
Deny-Bedrock-model-invocation-except-approved-models.json). So the grant can name exactly one
model: infra/runtime.py does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INVOKE_MODEL = "invoke-model"
MESSAGES_API = "messages-api"
FIRST_PARTY = "anthropic-api"

# Served only on the Messages-API endpoint: every Claude model in the pinned CLI's catalog newer
# than Opus 4.6 (the catalog gives each a `mantle` id; Anthropic's InvokeModel page stops at
# Opus 4.6). Haiku 4.5 has a Messages-API id too, but is still on InvokeModel, so it stays there.
MESSAGES_API_ONLY = frozenset(
    {
        "claude-opus-4-7",
        "claude-opus-4-8",
        "claude-opus-5",
        "claude-opus-5-5",
        "claude-sonnet-5",
        "claude-sonnet-5-5",
        "claude-haiku-5-5",
        "claude-fable-5",
        "claude-fable-5-1",
        "claude-fable-5-2",
    }
)

# Regions with the bedrock-mantle endpoint among those AgentCore Runtime supports (infra/zones.py).
# Source: Amazon Bedrock User Guide, "Regional availability by endpoints",
# https://docs.aws.amazon.com/bedrock/latest/userguide/endpoints-region-availability.html
MESSAGES_API_REGIONS = frozenset(
    {"us-east-1", "us-east-2", "us-west-2", "eu-central-1", "eu-west-1", "ap-northeast-1"}
)

SIGNING_NAMES = {INVOKE_MODEL: "bedrock", MESSAGES_API: "bedrock-mantle"}

_PROFILE_PREFIXES = ("us", "eu", "apac", "jp", "au", "ca", "us-gov", "global")
_VERSION_SUFFIX = re.compile(r"(-\d{8})?(-v\d+(:\d+)?)?$")


def model_name(model_id: str) -> str:
    """`us.anthropic.claude-haiku-4-5-20251001-v1:0` -> `claude-haiku-4-5`."""
    name = model_id.strip()
    head, dot, rest = name.partition(".")
    if dot and head in _PROFILE_PREFIXES:
        name = rest
    name = name.removeprefix("anthropic.")
    return _VERSION_SUFFIX.sub("", name)


def bedrock_integration(model_id: str) -> str:
    """The integration Bedrock serves this model on: MESSAGES_API or INVOKE_MODEL."""
    return MESSAGES_API if model_name(model_id) in MESSAGES_API_ONLY else INVOKE_MODEL


def messages_api_model_id(model_id: str) -> str:
    """The id the Messages-API endpoint (and its IAM condition key) knows the model by."""
    return f"anthropic.{model_name(model_id)}"


@dataclass(frozen=True)
class BedrockRoute:
    """Where Bedrock calls go and how they are signed, for one integration."""

    region: str
    integration: str
    runtime_url: str = ""
    control_url: str = ""
    messages_url: str = ""

    @property
    def signing_name(self) -> str:
        return SIGNING_NAMES[self.integration]

    def base_for(self, raw_path: bytes) -> str:
        """InvokeModel: `/model/...` to the runtime, the rest (profile lookups) to the control
        plane. Messages API: everything to its one endpoint."""
        if self.integration == MESSAGES_API:
            return self.messages_url
        return self.runtime_url if raw_path.startswith(b"/model/") else self.control_url


def bedrock_route(
    region: str, model_id: str, shared_url: str = "", environ: dict | None = None
) -> BedrockRoute:
    """The route for `model_id`; endpoint overrides by their standard variables in `environ`.

    `shared_url` (ANTHROPIC_BEDROCK_BASE_URL) means "send every InvokeModel call there", as it
    does for the CLI. boto3 has no bedrock-mantle service, so no AWS_ENDPOINT_URL_* names it;
    ANTHROPIC_BEDROCK_MANTLE_BASE_URL is the variable Anthropic's SDKs and the CLI read for it.
    """
    environ = environ or {}
    integration = bedrock_integration(model_id)
    if integration == MESSAGES_API:
        messages = environ.get("ANTHROPIC_BEDROCK_MANTLE_BASE_URL") or (
            f"https://bedrock-mantle.{region}.api.aws/anthropic"
        )
        return BedrockRoute(region, integration, messages_url=messages)
    runtime = (
        environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
        or shared_url
        or f"https://bedrock-runtime.{region}.amazonaws.com"
    )
    control = (
        environ.get("AWS_ENDPOINT_URL_BEDROCK")
        or shared_url
        or f"https://bedrock.{region}.amazonaws.com"
    )
    return BedrockRoute(region, integration, runtime_url=runtime, control_url=control)


def sign(
    route: BedrockRoute, method: str, url: str, headers: dict[str, str], body: bytes, credentials
) -> dict[str, str]:
    """SigV4 headers for one call on `route`: signing name "bedrock" for InvokeModel's runtime
    and control plane alike, "bedrock-mantle" for the Messages-API endpoint."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    # The path bytes go out exactly as the CLI sent them (it sends model ids with a raw ':'),
    # and botocore's canonical URI encodes those bytes once more, as the CLI's own signer
    # (smithy) would: so the signature covers exactly the request AWS receives.
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(credentials, route.signing_name, route.region).add_auth(request)
    return dict(request.headers.items())
