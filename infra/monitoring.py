"""Watching the running stack: alarms to an optional email, a monthly budget, and log retention everywhere."""

from __future__ import annotations

import json

from aws_cdk import Aws, CfnCondition, Duration, Fn, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.nag import acknowledge, arn_of

LOG_RETENTION_DAYS = 30  # the same month as every other Shipit log group (infra/lambdas.py)
# The agent's own structured log lines (agent/logs.py) carry this level name on failures.
AGENT_ERROR_PATTERN = '{ $.level = "ERROR" }'
METRIC_NAMESPACE = "Shipit"

# HTTP APIs fill these `$context` variables (resourcePath is REST-only and stays empty here).
# Who called, when, what came back and why; never the body (it holds the message).
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "time": "$context.requestTime",
        "ip": "$context.identity.sourceIp",
        "method": "$context.httpMethod",
        "path": "$context.path",
        "routeKey": "$context.routeKey",
        "protocol": "$context.protocol",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "latencyMs": "$context.responseLatency",
        "integrationStatus": "$context.integrationStatus",
        "integrationLatencyMs": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
        "error": "$context.error.message",
    },
    separators=(",", ":"),
)


def runtime_log_group_name(runtime: agentcore.Runtime) -> str:
    """Where AgentCore writes the container's stdout (documented on Runtime.application_log_group)."""
    return f"/aws/bedrock-agentcore/runtimes/{runtime.agent_runtime_id}-DEFAULT"


class Monitoring(Construct):
    """SNS topic (+ optional email), three alarms, the runtime log group's retention, a budget."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        relay_function: lambda_.IFunction,
        api: apigwv2.HttpApi,
        stage: apigwv2.HttpStage,
        runtime: agentcore.Runtime,
        alarm_email: str,
        monthly_budget_usd: float,
    ) -> None:
        super().__init__(scope, construct_id)
        self._fix_access_log_format(stage)
        has_email = CfnCondition(
            self, "HasAlarmEmail", expression=Fn.condition_not(Fn.condition_equals(alarm_email, ""))
        )

        self.topic = sns.Topic(self, "Alarms", display_name="Shipit alarms", enforce_ssl=True)
        # enforce_ssl writes a topic policy, which replaces the default one; CloudWatch must be
        # allowed to publish explicitly, and only for this account's alarms.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        subscription = sns.CfnSubscription(
            self,
            "AlarmEmail",
            topic_arn=self.topic.topic_arn,
            protocol="email",
            endpoint=alarm_email,
        )
        subscription.cfn_options.condition = has_email
        acknowledge(
            self.topic,
            "SNS2",
            "Alarm notices carry only alarm names and states, no user data; CloudWatch cannot "
            "publish to a topic under the AWS-managed SNS key, and a customer key costs more "
            "per month than the whole idle stack's alarms.",
        )

        self.runtime_logs = self._runtime_log_group(runtime)

        self.alarms = [
            self._alarm(
                "RelayErrors",
                relay_function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
                "The Telegram relay Lambda failed: messages may not reach the agent.",
            ),
            self._alarm(
                "Api5xx",
                cloudwatch.Metric(
                    namespace="AWS/ApiGateway",
                    metric_name="5xx",
                    dimensions_map={"ApiId": api.api_id, "Stage": "$default"},
                    period=Duration.minutes(5),
                    statistic="Sum",
                ),
                "The webhook API answered Telegram with server errors; Telegram will retry.",
            ),
            self._alarm(
                "RuntimeSystemErrors",
                runtime.metric_system_errors(period=Duration.minutes(5), statistic="Sum"),
                "AgentCore reported server-side errors invoking the agent runtime.",
            ),
            self._alarm(
                "AgentErrors",
                self._agent_error_metric(runtime),
                "The agent logged errors (structured logs, level ERROR) in its runtime log group.",
            ),
        ]
        self._budget(alarm_email, has_email, monthly_budget_usd)

    def _fix_access_log_format(self, stage: apigwv2.HttpStage) -> None:
        cfn_stage: apigwv2.CfnStage = stage.node.default_child  # type: ignore[assignment]
        cfn_stage.add_property_override("AccessLogSettings.Format", ACCESS_LOG_FORMAT)

    def _agent_error_metric(self, runtime: agentcore.Runtime) -> cloudwatch.IMetric:
        metric_filter = logs.CfnMetricFilter(
            self,
            "AgentErrorFilter",
            log_group_name=runtime_log_group_name(runtime),
            filter_pattern=AGENT_ERROR_PATTERN,
            metric_transformations=[
                logs.CfnMetricFilter.MetricTransformationProperty(
                    metric_namespace=METRIC_NAMESPACE,
                    metric_name="AgentErrors",
                    metric_value="1",
                    default_value=0,
                )
            ],
        )
        # The group must exist first: the retention resource creates it if AgentCore has not.
        metric_filter.node.add_dependency(self.runtime_logs)
        return cloudwatch.Metric(
            namespace=METRIC_NAMESPACE,
            metric_name="AgentErrors",
            period=Duration.minutes(5),
            statistic="Sum",
        )

    def _alarm(self, name: str, metric: cloudwatch.IMetric, description: str) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            name,
            alarm_description=f"Shipit: {description}",
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No data means nothing happened (no traffic), which is healthy.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        return alarm

    def _budget(self, email: str, has_email: CfnCondition, limit_usd: float) -> None:
        def notify(kind: str, percent: int) -> dict:
            # Plain CloudFormation shapes: values inside Fn::If are passed through unconverted.
            return {
                "Notification": {
                    "ComparisonOperator": "GREATER_THAN",
                    "NotificationType": kind,
                    "Threshold": percent,
                    "ThresholdType": "PERCENTAGE",
                },
                "Subscribers": [{"Address": email, "SubscriptionType": "EMAIL"}],
            }

        self.budget = budgets.CfnBudget(
            self,
            "MonthlyBudget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=f"{Stack.of(self).stack_name}-monthly",
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=limit_usd, unit="USD"),
            ),
            # Without an email the budget still shows spend against the limit in the console.
            notifications_with_subscribers=Fn.condition_if(  # type: ignore[arg-type]
                has_email.logical_id,
                [notify("ACTUAL", 80), notify("FORECASTED", 100)],
                Aws.NO_VALUE,
            ),
        )

    def _runtime_log_group(self, runtime: agentcore.Runtime) -> Construct:
        """Create (or adopt) the runtime's log group and give it a retention.

        AgentCore creates this group itself on the first invocation, without retention, so it
        would keep every line forever. A CloudFormation LogGroup would race that creation; two
        SDK calls through CDK's AwsCustomResource do not (an existing group is adopted), and
        IAM stays scoped to this one group, unlike CDK's LogRetention (which grants on `*`).
        """
        name = runtime_log_group_name(runtime)
        group_arn = f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:{name}"
        policy = cr.AwsCustomResourcePolicy.from_statements(
            [
                iam.PolicyStatement(
                    actions=[
                        "logs:CreateLogGroup",
                        "logs:DeleteLogGroup",
                        "logs:PutRetentionPolicy",
                    ],
                    resources=[group_arn, f"{group_arn}:*"],
                )
            ]
        )
        create = cr.AwsCustomResource(
            self,
            "RuntimeLogGroup",
            on_create=cr.AwsSdkCall(
                service="CloudWatchLogs",
                action="createLogGroup",
                parameters={"logGroupName": name},
                physical_resource_id=cr.PhysicalResourceId.of(name),
                ignore_error_codes_matching="ResourceAlreadyExistsException",
            ),
            # Teardown removes it like every other Shipit log group.
            on_delete=cr.AwsSdkCall(
                service="CloudWatchLogs",
                action="deleteLogGroup",
                parameters={"logGroupName": name},
                ignore_error_codes_matching="ResourceNotFoundException",
            ),
            policy=policy,
            install_latest_aws_sdk=False,
        )
        retention_call = cr.AwsSdkCall(
            service="CloudWatchLogs",
            action="putRetentionPolicy",
            parameters={"logGroupName": name, "retentionInDays": LOG_RETENTION_DAYS},
            physical_resource_id=cr.PhysicalResourceId.of(f"{name}-retention"),
        )
        retention = cr.AwsCustomResource(
            self,
            "RuntimeLogRetention",
            on_create=retention_call,
            on_update=retention_call,
            policy=policy,
            install_latest_aws_sdk=False,
        )
        retention.node.add_dependency(create)
        self._acknowledge_sdk_function(runtime)
        return retention

    def _acknowledge_sdk_function(self, runtime: agentcore.Runtime) -> None:
        # AwsCustomResource's Lambda is one singleton per stack, created at the stack's root.
        stack = Stack.of(self)
        for child in stack.node.children:
            if child.node.id.startswith("AWS679f53fac002430cb0da5b7982bd2287"):
                acknowledge(
                    child,
                    "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaBasicExecutionRole]",
                    "CDK's AwsCustomResource function writes only its own logs with the AWS "
                    "managed basic execution policy; it runs once per deploy.",
                )
                acknowledge(
                    child,
                    "L1",
                    "CDK's AwsCustomResource picks its own Node.js runtime, upgraded with "
                    "aws-cdk-lib; it runs only during deploys.",
                )
        acknowledge(
            self,
            "IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:"
            f"log-group:/aws/bedrock-agentcore/runtimes/{arn_of(runtime, 'AgentRuntimeId')}"
            "-DEFAULT:*]",
            "The `:*` form of this one log group's ARN, which IAM requires for log-group "
            "actions; it names the runtime's own group and nothing else.",
        )
