"""The one Shipit stack: parameters, secrets, and the parts wired together."""

from __future__ import annotations

from aws_cdk import CfnOutput, CfnParameter, Duration, RemovalPolicy, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import ShipitConfig
from infra.hosting import Hosting
from infra.inbox import Inbox
from infra.lifecycle import Lifecycle
from infra.monitoring import Monitoring
from infra.nag import acknowledge
from infra.network import Network
from infra.owner import spend_cap_parameter
from infra.relay import Relay, relay_code
from infra.runtime import AgentRuntime
from infra.screenshot import Screenshots
from infra.webhook import WebhookRegistration
from infra.workspace import Workspace


class ShipitStack(Stack):
    """Telegram webhook -> relay -> AgentCore runtime on a VPC with S3 Files, plus hosting."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        config = ShipitConfig.from_context(self)

        # Deploy-time parameters: CloudFormation remembers them, so later deploys and
        # `cdk destroy` need none of them again.
        allowed_user_ids = CfnParameter(
            self,
            "AllowedUserIds",
            type="String",
            description="Telegram user ids allowed to use the bot, comma separated",
            allowed_pattern=r"^[0-9]+(,[0-9]+)*$",
            constraint_description="digits separated by commas, e.g. 123456789,987654321",
        )
        repo_url = CfnParameter(
            self,
            "RepoUrl",
            type="String",
            description="SSH URL of the web app's repository (the deploy key's repository)",
            allowed_pattern=r"^(git@[^\s:]+:|ssh://)[^\s]+$",
            constraint_description="an SSH git URL such as git@github.com:you/your-app.git",
        )
        main_branch = CfnParameter(
            self,
            "MainBranch",
            type="String",
            default="main",
            description="The branch that production is built from",
            allowed_pattern=r"^[A-Za-z0-9._/-]+$",
        )
        max_turns = CfnParameter(
            self,
            "MaxTurns",
            type="Number",
            default=40,
            min_value=1,
            max_value=500,
            description="Most model turns one request may take",
        )
        max_budget = CfnParameter(
            self,
            "MaxBudgetUsd",
            type="Number",
            default=2,
            min_value=0.1,
            max_value=100,
            description="Most US dollars of model usage one request may spend",
        )
        owner_chat_id = CfnParameter(
            self,
            "OwnerChatId",
            type="String",
            default="",
            description="The owner's Telegram chat id: the first-start self-check reports there "
            "and /selftest answers there (empty: the report only goes to the logs)",
            allowed_pattern=r"^(-?[0-9]+)?$",
            constraint_description="a Telegram chat id (digits, maybe a leading minus) or empty",
        )
        alarm_email = CfnParameter(
            self,
            "AlarmEmail",
            type="String",
            default="",
            description="Email for alarms and budget warnings (empty: none are sent)",
            allowed_pattern=r"^([^\s@]+@[^\s@]+\.[^\s@]+)?$",
            constraint_description="an email address or empty",
        )
        monthly_budget = CfnParameter(
            self,
            "MonthlyBudgetUsd",
            type="Number",
            default=50,
            min_value=1,
            description="Monthly AWS cost budget in US dollars; warns at 80% spent and at a "
            "forecast of 100%",
        )

        # The owner stores these two before the first deploy (README), so the webhook can be
        # registered during that same deploy. Referenced by name: never in the template.
        bot_token = secretsmanager.Secret.from_secret_name_v2(
            self, "BotToken", config.bot_token_secret_name
        )
        deploy_key = secretsmanager.Secret.from_secret_name_v2(
            self, "DeployKey", config.deploy_key_secret_name
        )
        # Generated at deploy time from Telegram's secret_token alphabet (letters and digits).
        webhook_secret = secretsmanager.Secret(
            self,
            "WebhookSecret",
            description="Shipit: Telegram sends this in X-Telegram-Bot-Api-Secret-Token",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True, include_space=False
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            webhook_secret,
            "SMG4",
            "Rotating it needs setWebhook to be called with the new value at the same moment; "
            "redeploying with a new webhookRevision does that. Automatic rotation would break "
            "delivery between the two steps.",
        )

        log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            # CloudFront standard logs are delivered with ACLs, so the owner must not be enforced.
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
        )
        acknowledge(
            log_bucket,
            "S1",
            "This is the access-log bucket itself; logging it into itself would loop.",
        )

        network = Network(self, "Network", zone_ids=config.zone_ids)
        workspace = Workspace(self, "Workspace", network=network, log_bucket=log_bucket)
        hosting = Hosting(self, "Hosting", log_bucket=log_bucket)
        agent = AgentRuntime(
            self,
            "Agent",
            network=network,
            workspace=workspace,
            hosting=hosting,
            model=config.model,
            bot_token=bot_token,
            deploy_key=deploy_key,
            repo_url=repo_url.value_as_string,
            main_branch=main_branch.value_as_string,
            max_turns=max_turns.value_as_string,
            max_budget_usd=max_budget.value_as_string,
            owner_chat_id=owner_chat_id.value_as_string,
        )
        Screenshots(
            self, "Screenshots", public_url=hosting.public_url, previews_url=hosting.previews_url
        ).serve(agent.runtime)
        spend_cap_parameter(self, agent.runtime)
        inbox = Inbox(self, "Inbox", log_bucket=log_bucket)
        inbox.grant_take(agent.runtime.role)
        agent.add_environment("SHIPIT_INBOX_BUCKET", inbox.bucket.bucket_name)
        code = relay_code()
        lifecycle = Lifecycle(
            self, "Lifecycle", code=code, runtime=agent.runtime, bot_token=bot_token
        )
        relay = Relay(
            self,
            "Relay",
            code=code,
            lifecycle=lifecycle,
            webhook_secret=webhook_secret,
            allowed_user_ids=allowed_user_ids.value_as_string,
            inbox=inbox,
        )
        # The self-check compares Telegram's registered webhook with this.
        agent.add_environment("SHIPIT_WEBHOOK_URL", relay.webhook_url)
        Monitoring(
            self,
            "Monitoring",
            relay_function=relay.function,
            api=relay.api,
            stage=relay.stage,
            runtime=agent.runtime,
            alarm_email=alarm_email.value_as_string,
            monthly_budget_usd=monthly_budget.value_as_number,
        )
        webhook = WebhookRegistration(
            self,
            "Telegram",
            webhook_url=relay.webhook_url,
            bot_token=bot_token,
            webhook_secret=webhook_secret,
            revision=config.webhook_revision,
        )
        # Register only once the whole path can answer, or Telegram's first deliveries fail.
        webhook.resource.node.add_dependency(relay)
        webhook.resource.node.add_dependency(agent)

        CfnOutput(self, "WebhookUrl", value=relay.webhook_url)
        CfnOutput(self, "PublicUrl", value=hosting.public_url)
        CfnOutput(self, "PreviewUrl", value=hosting.previews_url)
        CfnOutput(self, "AgentRuntimeArn", value=agent.runtime.agent_runtime_arn)
        CfnOutput(self, "WorkspaceBucket", value=workspace.bucket.bucket_name)
        CfnOutput(self, "SiteBucket", value=hosting.bucket.bucket_name)
