"""Deploy-time parameters for the owner in the loop and the daily spend cap, set on the runtime."""

from __future__ import annotations

from aws_cdk import CfnParameter
from aws_cdk import aws_bedrockagentcore as agentcore
from constructs import Construct


def owner_parameters(scope: Construct, runtime: agentcore.Runtime) -> None:
    """OwnerChatId (optional) and DailyCapUsd (0 = no cap) become the agent's settings."""
    owner = CfnParameter(
        scope,
        "OwnerChatId",
        type="String",
        default="",
        description="Telegram chat id of the app's owner: ships, undos, failures and a daily "
        "digest are reported there (empty: nobody is told)",
        allowed_pattern=r"^(-?[0-9]+)?$",
        constraint_description="a Telegram chat id such as 123456789, or empty",
    )
    cap = CfnParameter(
        scope,
        "DailyCapUsd",
        type="Number",
        default=0,
        min_value=0,
        max_value=10000,
        description="Most US dollars of model usage per UTC day for the app; new requests stop "
        "past it (0: no cap)",
    )
    cfn: agentcore.CfnRuntime = runtime.node.default_child  # type: ignore[assignment]
    cfn.add_property_override("EnvironmentVariables.SHIPIT_OWNER_CHAT_ID", owner.value_as_string)
    cfn.add_property_override("EnvironmentVariables.SHIPIT_DAILY_CAP_USD", cap.value_as_string)
