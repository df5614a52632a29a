"""The request lifecycle: a Lambda durable function (relay/lifecycle.py) behind a `live` alias.

Durable mode is fixed when the function is created (`durable_config`), and durable functions are
only invoked by a qualified ARN, so the relay is granted `lambda:InvokeFunction` on the alias
alone. The lifecycle may call this one AgentCore runtime and read the bot token (to tell a
requester when the runtime cannot be reached); the managed durable-execution policy lets it
checkpoint its own executions.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.lambdas import month_of_logs
from infra.nag import acknowledge, arn_of

ALIAS = "live"
REMIND_AFTER_S = 24 * 3600
EXPIRE_AFTER_S = 7 * 24 * 3600
SUPERVISE_MAX_S = 9 * 3600  # an AgentCore session lives at most 8 h
# Long enough for a request supervised to the end and its preview expired, with a day to spare.
EXECUTION_TIMEOUT = Duration.seconds(SUPERVISE_MAX_S + EXPIRE_AFTER_S + 24 * 3600)
RETENTION = Duration.days(14)
DURABLE_POLICY = "service-role/AWSLambdaBasicDurableExecutionRolePolicy"


class Lifecycle(Construct):
    """The durable lifecycle function, its `live` alias, and its least-privilege role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        runtime: agentcore.Runtime,
        bot_token: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Shipit lifecycle: checkpoint, call the agent runtime, read the bot token",
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(DURABLE_POLICY)],
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="Shipit lifecycle: deliver, supervise, remind and expire (durable)",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler="relay.lifecycle.handler",
            code=code,
            role=role,
            memory_size=256,
            # One invocation runs until the next durable wait: a runtime call (≤ 65 s) and a step.
            timeout=Duration.minutes(3),
            log_group=month_of_logs(self, "Logs"),
            durable_config=lambda_.DurableConfig(
                execution_timeout=EXECUTION_TIMEOUT, retention_period=RETENTION
            ),
            environment={
                "SHIPIT_AGENT_RUNTIME_ARN": runtime.agent_runtime_arn,
                "SHIPIT_BOT_TOKEN_SECRET_ARN": bot_token.secret_arn,
                "SHIPIT_REMIND_AFTER_S": str(REMIND_AFTER_S),
                "SHIPIT_EXPIRE_AFTER_S": str(EXPIRE_AFTER_S),
                "SHIPIT_SUPERVISE_MAX_S": str(SUPERVISE_MAX_S),
            },
        )
        self.alias = lambda_.Alias(
            self, "Live", alias_name=ALIAS, version=self.function.current_version
        )
        runtime.grant_invoke_runtime(role)
        bot_token.grant_read(role)

        acknowledge(
            role,
            f"IAM5[Resource::{arn_of(runtime, 'AgentRuntimeArn')}/*]",
            "Granted by Runtime.grant_invoke_runtime: the runtime plus its endpoints "
            "(runtime-endpoint/DEFAULT is what an unqualified invoke uses); this runtime only.",
        )
        acknowledge(
            role,
            f"IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{DURABLE_POLICY}]",
            "The AWS managed policy for durable functions: its own logs plus checkpointing and "
            "reading the state of its own executions, which the SDK needs on every invocation.",
        )
        acknowledge(
            self.function,
            "L1",
            "Python 3.13 on purpose: durable functions need python3.13 or newer, and the agent "
            "container runs the same minor version.",
        )

    def grant_start(self, grantee: iam.IGrantable) -> None:
        """Let `grantee` start executions of the `live` alias, and nothing else."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[self.alias.function_arn]
            )
        )
