"""The DailyCapUsd deploy-time parameter (0 = no cap), set on the agent runtime.

The owner's chat (OwnerChatId → SHIPIT_OWNER_CHAT_ID) is a stack parameter of its own (stack.py);
the agent reports ships, undos, failures, the daily digest and the cap being reached there.
"""

from __future__ import annotations

from aws_cdk import CfnParameter
from aws_cdk import aws_bedrockagentcore as agentcore
from constructs import Construct


def spend_cap_parameter(scope: Construct, runtime: agentcore.Runtime) -> None:
    """DailyCapUsd becomes SHIPIT_DAILY_CAP_USD on the runtime."""
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
    cfn.add_property_override("EnvironmentVariables.SHIPIT_DAILY_CAP_USD", cap.value_as_string)
