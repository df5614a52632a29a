"""Registers the Telegram webhook at deploy time (and removes it at teardown), so nobody curls by hand."""

from __future__ import annotations

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import ALLOWED_UPDATES, INFRA_DIR
from infra.lambdas import python_function
from infra.nag import acknowledge


class WebhookRegistration(Construct):
    """A Lambda-backed custom resource calling setWebhook on create/update, deleteWebhook on delete."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        webhook_url: str,
        bot_token: secretsmanager.ISecret,
        webhook_secret: secretsmanager.ISecret,
        revision: str,
        telegram_api_base: str = "https://api.telegram.org",
    ) -> None:
        super().__init__(scope, construct_id)

        self.function = python_function(
            self,
            description="Shipit: register the Telegram webhook with its secret",
            handler="handler.handler",
            code=lambda_.Code.from_asset(
                str(INFRA_DIR / "webhook_lambda"), exclude=["__pycache__", "*.pyc"]
            ),
            timeout=Duration.seconds(30),
            environment={"SHIPIT_TELEGRAM_API_BASE": telegram_api_base},
        )
        # It reads both values itself, so neither ever appears in the template or in events.
        bot_token.grant_read(self.function)
        webhook_secret.grant_read(self.function)

        self.resource = CustomResource(
            self,
            "Webhook",
            service_token=self.function.function_arn,
            resource_type="Custom::TelegramWebhook",
            # The handler always answers within its 30 s; if it ever cannot (a crash before it
            # runs), fail the deploy after 5 minutes instead of CloudFormation's default hour.
            service_timeout=Duration.minutes(5),
            properties={
                "WebhookUrl": webhook_url,
                "BotTokenSecretArn": bot_token.secret_arn,
                "WebhookSecretArn": webhook_secret.secret_arn,
                "AllowedUpdates": list(ALLOWED_UPDATES),
                # Bump (-c webhookRevision=N) to register again after replacing the bot token.
                "Revision": revision,
            },
        )

        acknowledge(
            self.function,
            "L1",
            "Python 3.13 like the relay and the container: one Python version across Shipit; "
            "it is a supported Lambda runtime and the function runs once per deploy.",
        )
        acknowledge(
            self.function,
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "The AWS managed basic execution policy only lets the function write its own logs.",
        )
