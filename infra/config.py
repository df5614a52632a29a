"""Names and numbers the stack, the container and the tests must agree on, plus context parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from constructs import Construct

from agent.model_routes import (
    INVOKE_MODEL,
    MESSAGES_API,
    MESSAGES_API_REGIONS,
    bedrock_integration,
    messages_api_model_id,
)
from infra.zones import parse_zone_ids, synth_region, zones_for

REPO_ROOT = Path(__file__).resolve().parent.parent
INFRA_DIR = Path(__file__).resolve().parent

# The Dockerfile creates its user with exactly these ids (tests/infra compares them), and the
# S3 Files access point forces every NFS call to them, so files the agent writes stay its own
# whichever container (or restart) wrote them.
AGENT_UID = 10001
AGENT_GID = 10001

# AgentCore only accepts one level under /mnt; AGENTS.md names this path for SHIPIT_WORKSPACE.
WORKSPACE_MOUNT_PATH = "/mnt/workspace"
# SHIPIT_CACHE_DIR in the container: local disk, recreated per session from the lockfile.
CONTAINER_CACHE_DIR = "/tmp/shipit-cache"
# The directory the access point exposes; it becomes the `workspace/` prefix in the bucket.
WORKSPACE_ROOT_DIR = "/workspace"

# Telegram sends only these update kinds to the webhook; the relay ignores the rest anyway.
ALLOWED_UPDATES = ("message", "callback_query")

# Geography prefixes of Bedrock's system-defined cross-region inference profiles.
_PROFILE_PREFIXES = ("us", "eu", "apac", "jp", "au", "ca", "us-gov", "global")
_MODEL_ID = re.compile(r"^[a-z0-9-]+(\.[A-Za-z0-9-]+)+(:[0-9]+)?$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_LOOKS_SUFFIXED = re.compile(r"-[A-Za-z0-9]{6}$")


@dataclass(frozen=True)
class ModelRef:
    """A Bedrock model id split into what IAM needs: the integration that serves it
    (agent/model_routes.py), the foundation model and maybe a profile."""

    model_id: str
    foundation_model_id: str
    inference_profile_id: str | None
    integration: str = INVOKE_MODEL

    @classmethod
    def parse(cls, model_id: str) -> ModelRef:
        model_id = model_id.strip()
        if not _MODEL_ID.match(model_id):
            raise ValueError(f"model: not a Bedrock model or inference profile id: {model_id!r}")
        if bedrock_integration(model_id) == MESSAGES_API:
            bare = messages_api_model_id(model_id)
            if model_id != bare:
                # The IAM condition key compares the id the request names, so only one form works.
                raise ValueError(
                    f"model: {model_id!r} is served only on Bedrock's Messages-API endpoint, "
                    f"which names it {bare!r} (no inference profile): use -c model={bare}"
                )
            return cls(model_id, model_id, None, MESSAGES_API)
        prefix, rest = model_id.split(".", 1)
        if prefix in _PROFILE_PREFIXES:
            # `us.anthropic.claude-...` routes to `anthropic.claude-...` in several regions.
            return cls(model_id, rest, model_id)
        return cls(model_id, model_id, None)


@dataclass(frozen=True)
class ShipitConfig:
    """Synth-time settings from CDK context (defaults live in cdk.json)."""

    model: ModelRef
    bot_token_secret_name: str
    deploy_key_secret_name: str
    webhook_revision: str
    # Two AZ IDs fixed at synth, or None: CloudFormation picks them from infra/zones.py's table.
    zone_ids: tuple[str, ...] | None = None

    @classmethod
    def from_context(cls, scope: Construct) -> ShipitConfig:
        def get(key: str) -> str:
            value = scope.node.try_get_context(key)
            if value is None or str(value).strip() == "":
                raise ValueError(f"CDK context {key!r} is missing (cdk.json sets a default)")
            return str(value).strip()

        secrets = {k: get(k) for k in ("botTokenSecretName", "deployKeySecretName")}
        for key, name in secrets.items():
            if not _SECRET_NAME.match(name):
                raise ValueError(f"CDK context {key!r}: not a Secrets Manager name: {name!r}")
            if _LOOKS_SUFFIXED.search(name):
                # The stack refers to these secrets by partial ARN (name only), which Secrets
                # Manager cannot tell apart from a full ARN when the name ends like its suffix.
                raise ValueError(f"CDK context {key!r}: must not end in '-' + 6 characters")
        zone_ids = _zone_ids(scope)  # an unknown region fails here first, with its own fix
        model = ModelRef.parse(get("model"))
        _check_model_region(model, synth_region(scope.node.try_get_context("region")))
        return cls(
            zone_ids=zone_ids,
            model=model,
            bot_token_secret_name=secrets["botTokenSecretName"],
            deploy_key_secret_name=secrets["deployKeySecretName"],
            webhook_revision=get("webhookRevision"),
        )


def _zone_ids(scope: Construct) -> tuple[str, ...] | None:
    """`-c availabilityZoneIds=...` wins; else the table's row for the region known at synth
    (`-c region=...` or the deploying profile's, which the cdk CLI passes as CDK_DEFAULT_REGION),
    failing clearly for a region the table lacks; else None (looked up at deploy)."""
    override = str(scope.node.try_get_context("availabilityZoneIds") or "").strip()
    if override:
        return parse_zone_ids(override)
    region = synth_region(scope.node.try_get_context("region"))
    return zones_for(region) if region else None


def _check_model_region(model: ModelRef, region: str | None) -> None:
    """A Messages-API model in a region known (at synth) to lack that endpoint fails clearly."""
    if model.integration != MESSAGES_API or not region or region in MESSAGES_API_REGIONS:
        return
    known = ", ".join(sorted(MESSAGES_API_REGIONS))
    raise ValueError(
        f"model {model.model_id!r} is served only on Bedrock's Messages-API endpoint "
        f"(bedrock-mantle), which {region!r} does not have (it does: {known}). Deploy to one of "
        "those, or pick a model on InvokeModel: -c model=us.anthropic.claude-sonnet-4-6"
    )
