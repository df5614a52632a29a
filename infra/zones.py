"""Which Availability Zone IDs AgentCore Runtime accepts per region, and how subnets get placed in them.

Source: Amazon Bedrock AgentCore Developer Guide, "Configure Amazon Bedrock AgentCore Runtime and
tools for VPC", section "Supported Availability Zones"
(https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/agentcore-vpc.html), as of
2025-11. AgentCore refuses a runtime whose subnets sit in any other AZ. The table is by AZ *ID*
(e.g. `use1-az4`), the same physical zone in every account; AZ *names* (`us-east-1a`) map to
different IDs per account, which is why the stack places subnets by ID and never by name.
When AWS adds a region or zone, add it here; until then `-c availabilityZoneIds=a,b` overrides.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

SOURCE = "https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/agentcore-vpc.html"

AGENTCORE_AZ_IDS: dict[str, tuple[str, ...]] = {
    "us-east-1": ("use1-az1", "use1-az2", "use1-az4"),
    "us-east-2": ("use2-az1", "use2-az2", "use2-az3"),
    "us-west-2": ("usw2-az1", "usw2-az2", "usw2-az3"),
    "ap-south-1": ("aps1-az1", "aps1-az2", "aps1-az3"),
    "ap-southeast-1": ("apse1-az1", "apse1-az2", "apse1-az3"),
    "ap-southeast-2": ("apse2-az1", "apse2-az2", "apse2-az3"),
    "ap-northeast-1": ("apne1-az1", "apne1-az2", "apne1-az4"),
    "eu-west-1": ("euw1-az1", "euw1-az2", "euw1-az3"),
    "eu-central-1": ("euc1-az1", "euc1-az2", "euc1-az3"),
}

# Two zones: the S3 Files mount targets and the runtime's ENIs survive one zone's outage, and a
# third would add a subnet and mount target for no gain at this scale.
ZONE_COUNT = 2

_AZ_ID = re.compile(r"^[a-z]{2,5}[0-9]-az[0-9]+$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")


class UnknownRegionError(ValueError):
    """The deploy region is not in the table, so the stack cannot know which zones work."""

    def __init__(self, region: str) -> None:
        known = ", ".join(sorted(AGENTCORE_AZ_IDS))
        super().__init__(
            f"Shipit does not know which Availability Zones AgentCore Runtime supports in "
            f"{region!r}. Known regions: {known}. Either deploy to one of those, or look up the "
            f"supported AZ IDs for {region} at {SOURCE} and pass two of them: "
            f"cdk deploy -c availabilityZoneIds=<id1>,<id2>"
        )
        self.region = region


class BadZoneIdsError(ValueError):
    """The availabilityZoneIds override is not a list of AZ IDs."""

    def __init__(self, raw: str, problem: str) -> None:
        super().__init__(f"CDK context 'availabilityZoneIds' {raw!r}: {problem}")
        self.raw = raw
        self.problem = problem


def parse_zone_ids(raw: str) -> tuple[str, ...]:
    """`use1-az1,use1-az4` -> ("use1-az1", "use1-az4"); AZ names are refused, not guessed."""
    ids = tuple(z.strip() for z in raw.split(",") if z.strip())
    if len(ids) != ZONE_COUNT:
        raise BadZoneIdsError(raw, f"give exactly {ZONE_COUNT} AZ IDs, comma separated")
    if len(set(ids)) != len(ids):
        raise BadZoneIdsError(raw, "the two AZ IDs must differ")
    for zone in ids:
        if not _AZ_ID.match(zone):
            raise BadZoneIdsError(
                raw,
                f"{zone!r} is not an AZ ID (like use1-az4); AZ names such as us-east-1a mean "
                "different zones in different accounts",
            )
    return ids


def synth_region(context_region: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The region known at synth: `-c region=...`, else the one the cdk CLI passes, else ''."""
    environ = os.environ if environ is None else environ
    region = (context_region or environ.get("CDK_DEFAULT_REGION") or "").strip()
    if region and not _REGION.match(region):
        raise UnknownRegionError(region)
    return region


def zones_for(region: str) -> tuple[str, ...]:
    """The first ZONE_COUNT supported AZ IDs of a known region; a clear error otherwise."""
    if region not in AGENTCORE_AZ_IDS:
        raise UnknownRegionError(region)
    return AGENTCORE_AZ_IDS[region][:ZONE_COUNT]
