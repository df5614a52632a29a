"""The screenshot Lambda: a container image with Chromium that pictures a preview page.

Why a Lambda and not AgentCore Browser over CDP: the Lambda runs the very code the local stack
and CI run (browser/chromium.py, Debian's Chromium), so what tests see is what production
sends; it needs no CDP client or browser-session lifecycle in the agent (one synchronous
`lambda:InvokeFunction`); and it renders untrusted preview pages with no permissions at all
(its role can only write its own logs), outside the VPC, far from the agent's secrets. The
browser stays out of the agent's image, which is near AgentCore's size quota with the CLI.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import REPO_ROOT
from infra.lambdas import month_of_logs
from infra.nag import acknowledge


class Screenshots(Construct):
    """The function, and the one permission and setting the agent runtime needs to call it."""

    def __init__(self, scope: Construct, construct_id: str, *, public_url: str) -> None:
        super().__init__(scope, construct_id)
        self.function = lambda_.DockerImageFunction(
            self,
            "Function",
            description="Shipit: phone-width screenshots of preview and live pages",
            code=lambda_.DockerImageCode.from_image_asset(
                str(REPO_ROOT / "browser"), platform=ecr_assets.Platform.LINUX_ARM64
            ),
            architecture=lambda_.Architecture.ARM_64,
            # Chromium wants memory more than anything: 2 GB gives ~1 vCPU and a ~1 s shot.
            memory_size=2048,
            timeout=Duration.seconds(40),
            log_group=month_of_logs(self, "Logs"),
            environment={"SHIPIT_SCREENSHOT_ALLOWED_PREFIX": public_url},
        )
        acknowledge(
            self.function,
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "The managed basic-execution policy only lets the function write its own logs; the "
            "screenshot function has no other permission at all.",
        )

    def serve(self, runtime: agentcore.Runtime) -> None:
        """Let the agent runtime invoke the function and tell it the function's name."""
        # The unqualified function only (grant_invoke would add every version, `:*`).
        runtime.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[self.function.function_arn]
            )
        )
        cfn: agentcore.CfnRuntime = runtime.node.default_child  # type: ignore[assignment]
        cfn.add_property_override(
            "EnvironmentVariables.SHIPIT_SCREENSHOT_FUNCTION", self.function.function_arn
        )
