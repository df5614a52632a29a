"""The webhook front door: HTTP API `POST /telegram` to the relay Lambda, which starts the lifecycle.

One asset holds relay/ for both functions: the relay (standard library only, for its cold
start) and the durable lifecycle (boto3 and the durable-execution SDK, bundled offline).
Why local bundling: the lifecycle needs a boto3 that knows `bedrock-agentcore`, and the boto3 in
Lambda's Python runtime lags releases. Docker bundling would need a Docker engine and network at
synth time, and pip would need network too; both break offline synth and CI. boto3 and its
dependencies are pure Python, so copying them from the venv that runs `cdk synth` (pinned by
uv.lock) into the asset is exact, offline and fast; the 3.11 venv's files run unchanged on
Lambda's 3.13. The asset hash is taken over the output, so a boto3 bump redeploys the relay.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import jsii
from aws_cdk import (
    AssetHashType,
    BundlingOptions,
    DockerImage,
    Duration,
    ILocalBundling,
)
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import REPO_ROOT
from infra.inbox import Inbox
from infra.lambdas import month_of_logs, python_function
from infra.lifecycle import Lifecycle
from infra.nag import acknowledge

RELAY_DIR = REPO_ROOT / "relay"
# relay/texts.py reads the message templates from prompts/, relay/'s sibling in the asset too.
MESSAGES = REPO_ROOT / "prompts" / "messages.toml"
# The durable-execution SDK, boto3 and everything they import; all pure Python.
BUNDLED_PACKAGES = (
    "aws_durable_execution_sdk_python",
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "dateutil",
    "urllib3",
)
BUNDLED_MODULES = ("six",)
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "test_*.py")


def _source_of(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"relay bundling: {name} is not installed in this environment")
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin)


def bundle_relay(output_dir: Path, relay_dir: Path = RELAY_DIR) -> None:
    """Lay out the relay asset: `relay/` as a package plus boto3 and friends at the top level."""
    if not (relay_dir / "handler.py").is_file():
        raise RuntimeError(f"relay bundling: {relay_dir / 'handler.py'} is missing")
    shutil.copytree(relay_dir, output_dir / "relay", ignore=_SKIP, dirs_exist_ok=True)
    (output_dir / "prompts").mkdir(exist_ok=True)
    shutil.copy2(MESSAGES, output_dir / "prompts" / MESSAGES.name)
    for name in BUNDLED_PACKAGES:
        shutil.copytree(_source_of(name), output_dir / name, ignore=_SKIP, dirs_exist_ok=True)
    for name in BUNDLED_MODULES:
        shutil.copy2(_source_of(name), output_dir / f"{name}.py")


@jsii.implements(ILocalBundling)
class _LocalRelayBundler:
    """CDK's hook for bundling without Docker; always succeeds or raises."""

    def try_bundle(self, output_dir: str, _options: object = None) -> bool:
        bundle_relay(Path(output_dir))
        return True


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogs:
    """Access logs for the stage (jsii wants an object implementing the interface, not a dict)."""

    def __init__(self, destination: apigwv2.IAccessLogDestination) -> None:
        self._destination = destination

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        # Who called, when, and what came back; never the body (it holds the message).
        return apigw.AccessLogFormat.json_with_standard_fields(
            caller=False,
            http_method=True,
            ip=True,
            protocol=True,
            request_time=True,
            resource_path=True,
            response_length=True,
            status=True,
            user=False,
        )


def relay_code() -> lambda_.Code:
    """The asset both relay functions run (see the module docstring)."""
    return lambda_.Code.from_asset(
        str(RELAY_DIR),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Never pulled: the local bundler always handles it (see the module docstring).
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
            local=_LocalRelayBundler(),
        ),
    )


class Relay(Construct):
    """Relay Lambda (Python 3.13, arm64) behind an HTTP API with deliberate throttling."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        lifecycle: Lifecycle,
        webhook_secret: secretsmanager.ISecret,
        allowed_user_ids: str,
        inbox: Inbox,
    ) -> None:
        super().__init__(scope, construct_id)

        self.function = python_function(
            self,
            description="Shipit relay: verify Telegram's secret, allowlist, start the lifecycle",
            handler="relay.handler.handler",
            code=code,
            # More memory buys CPU: a faster cold start costs nothing at this volume.
            memory_size=512,
            # Its calls allow 5 s each (the secret once per cold start, then the inbox write
            # and the Event invoke);
            # API Gateway gives up at 30 s.
            timeout=Duration.seconds(15),
            environment={
                "SHIPIT_WEBHOOK_SECRET_ARN": webhook_secret.secret_arn,
                "SHIPIT_ALLOWED_USER_IDS": allowed_user_ids,
                "SHIPIT_LIFECYCLE_FUNCTION_ARN": lifecycle.alias.function_arn,
                "SHIPIT_INBOX_BUCKET": inbox.bucket.bucket_name,
            },
        )
        inbox.grant_record(self.function)
        webhook_secret.grant_read(self.function)
        lifecycle.grant_start(self.function)

        self.api = apigwv2.HttpApi(
            self,
            "Api",
            description="Shipit: Telegram webhook",
            create_default_stage=False,
        )
        access_logs = month_of_logs(self, "AccessLogs")
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            # Telegram opens at most 40 connections per bot (its default max_connections) and
            # one owner's team sends a handful of messages a minute. Anything beyond this is
            # not Telegram; a 429 is harmless because Telegram retries undelivered updates.
            throttle=apigwv2.ThrottleSettings(rate_limit=20, burst_limit=40),
            access_log_settings=_AccessLogs(apigwv2.LogGroupLogDestination(access_logs)),
        )
        self.api.add_routes(
            path="/telegram",
            methods=[apigwv2.HttpMethod.POST],
            integration=integrations.HttpLambdaIntegration("Relay", self.function),
        )

        acknowledge(
            self.api,
            "APIG4",
            "Telegram cannot sign requests or send IAM/JWT credentials; the relay checks the "
            "X-Telegram-Bot-Api-Secret-Token header (constant time) before doing anything.",
        )
        acknowledge(
            self.function,
            "L1",
            "Python 3.13 on purpose: the same minor version as the agent container, so the "
            "relay's code is tested once; it is a supported Lambda runtime.",
        )
        acknowledge(
            self.function,
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "The AWS managed basic execution policy only lets the function write its own logs.",
        )

    @property
    def webhook_url(self) -> str:
        return f"{self.stage.url.rstrip('/')}/telegram"
