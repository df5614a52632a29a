"""Shipit's Lambda functions share one shape: Python 3.13 on arm64, logs kept for a month."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct


def month_of_logs(scope: Construct, construct_id: str) -> logs.LogGroup:
    """A log group that keeps a month and goes away with the stack."""
    return logs.LogGroup(
        scope,
        construct_id,
        retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=RemovalPolicy.DESTROY,
    )


def python_function(
    scope: Construct,
    *,
    description: str,
    handler: str,
    code: lambda_.Code,
    timeout: Duration,
    environment: dict[str, str],
    memory_size: int | None = None,
) -> lambda_.Function:
    """The function (construct id "Function") with its own log group ("Logs") in `scope`."""
    return lambda_.Function(
        scope,
        "Function",
        description=description,
        # The container runs 3.13 too; arm64 is cheaper and what AgentCore runs.
        runtime=lambda_.Runtime.PYTHON_3_13,
        architecture=lambda_.Architecture.ARM_64,
        handler=handler,
        code=code,
        memory_size=memory_size,
        timeout=timeout,
        log_group=month_of_logs(scope, "Logs"),
        environment=environment,
    )
