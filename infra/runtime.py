"""The AgentCore Runtime that runs the agent container, with its workspace mounted and its permissions."""

from __future__ import annotations

from aws_cdk import (
    Acknowledgment,
    Aws,
    Duration,
    IgnoreMode,
    Validations,
)
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from agent.model_routes import MESSAGES_API, MESSAGES_API_REGIONS
from infra.config import CONTAINER_CACHE_DIR, REPO_ROOT, WORKSPACE_MOUNT_PATH, ModelRef
from infra.hosting import Hosting
from infra.nag import acknowledge, arn_of
from infra.network import Network
from infra.rules import require_region
from infra.workspace import Workspace


class AgentRuntime(Construct):
    """The container, its VPC placement, lifecycle, environment, S3 Files mount and IAM."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: Network,
        workspace: Workspace,
        hosting: Hosting,
        model: ModelRef,
        bot_token: secretsmanager.ISecret,
        deploy_key: secretsmanager.ISecret,
        repo_url: str,
        main_branch: str,
        max_turns: str,
        max_budget_usd: str,
        owner_chat_id: str,
    ) -> None:
        super().__init__(scope, construct_id)

        self.image = ecr_assets.DockerImageAsset(
            self,
            "Image",
            directory=str(REPO_ROOT),
            # AgentCore runs arm64 (Graviton) containers only.
            platform=ecr_assets.Platform.LINUX_ARM64,
            # .dockerignore is an allowlist; read it with Docker's own rules.
            ignore_mode=IgnoreMode.DOCKER,
        )
        artifact = agentcore.AgentRuntimeArtifact.from_ecr_repository(
            self.image.repository, self.image.image_tag
        )

        self.runtime = agentcore.Runtime(
            self,
            "Runtime",
            agent_runtime_artifact=artifact,
            description="Shipit: edits, previews and ships the owner's web app from Telegram",
            network_configuration=agentcore.RuntimeNetworkConfiguration.using_vpc(
                self,
                vpc=network.vpc,
                vpc_subnets=network.private_subnets,
                security_groups=[network.runtime_sg],
            ),
            lifecycle_configuration=agentcore.LifecycleConfiguration(
                # A chat usually answers a preview within minutes ("ship it", "make it blue"):
                # 15 idle minutes keeps that follow-up warm. Past that, a cold start costs a
                # few seconds and nothing else, since all state lives on the workspace mount.
                idle_runtime_session_timeout=Duration.minutes(15),
                # While a job runs, /ping says HealthyBusy and idling never starts, so this is
                # the only stop for a job that hangs. One request is bounded by SHIPIT_MAX_TURNS
                # and 10-minute command timeouts; two hours is several times the longest sane
                # job, and a session cut here resumes from the mount on the next message.
                max_lifetime=Duration.hours(2),
            ),
            # Every setting is an environment variable (AGENTS.md); secrets travel as ARNs only
            # and are read from Secrets Manager when the agent starts.
            environment_variables={
                "SHIPIT_WORKSPACE": WORKSPACE_MOUNT_PATH,
                "SHIPIT_REPO_URL": repo_url,
                "SHIPIT_MAIN_BRANCH": main_branch,
                "SHIPIT_BOT_TOKEN_SECRET_ARN": bot_token.secret_arn,
                "SHIPIT_DEPLOY_KEY_SECRET_ARN": deploy_key.secret_arn,
                "SHIPIT_HOSTING": "s3",
                "SHIPIT_PUBLIC_URL": hosting.public_url,
                "SHIPIT_PREVIEW_URL": hosting.previews_url,
                "SHIPIT_SITE_BUCKET": hosting.bucket.bucket_name,
                "SHIPIT_PRODUCTION_KVS_ARN": hosting.production_store.key_value_store_arn,
                # The agent picks the integration from the model (agent/model_routes.py).
                "CLAUDE_CODE_USE_BEDROCK": "1",
                "AWS_REGION": Aws.REGION,
                "ANTHROPIC_MODEL": model.model_id,
                "SHIPIT_MAX_TURNS": max_turns,
                "SHIPIT_MAX_BUDGET_USD": max_budget_usd,
                "SHIPIT_OWNER_CHAT_ID": owner_chat_id,
                # The image's content hash: the self-check runs once per new image.
                "SHIPIT_DEPLOYED_VERSION": self.image.asset_hash,
                # Dependency folders and build output stay on the container's own disk, off the
                # S3 Files mount (every file there becomes S3 requests and object versions).
                "SHIPIT_CACHE_DIR": CONTAINER_CACHE_DIR,
            },
        )

        # S3 Files on a runtime exists only in the L1 so far: mount the access point at the
        # workspace path, and only once the mount targets exist (else the first session fails).
        cfn_runtime: agentcore.CfnRuntime = self.runtime.node.default_child  # type: ignore[assignment]
        cfn_runtime.filesystem_configurations = [
            agentcore.CfnRuntime.FilesystemConfigurationProperty(
                s3_files_access_point=agentcore.CfnRuntime.S3FilesAccessPointConfigurationProperty(
                    access_point_arn=workspace.access_point.attr_access_point_arn,
                    mount_path=WORKSPACE_MOUNT_PATH,
                )
            )
        ]
        for mount_target in workspace.mount_targets:
            cfn_runtime.node.add_dependency(mount_target)
        cfn_runtime.node.add_dependency(workspace.access_point)

        # The image URI is only known once CDK has pushed the asset; AgentCore checks it then.
        Validations.of(self.runtime).acknowledge(
            Acknowledgment(
                id="aws-cdk-lib.aws-bedrockagentcore:containerUriValidationSkipped",
                reason="The URI names the CDK-built image asset, resolved at deploy time.",
            )
        )

        role = self.runtime.role
        workspace.grant_client_access(role)
        hosting.grant_publish(role)
        bot_token.grant_read(role)
        deploy_key.grant_read(role)
        self._grant_model(role, model)
        self._acknowledge_role_findings(hosting, model)

    def add_environment(self, name: str, value: str) -> None:
        """A setting known only once later parts exist (e.g. the webhook URL from the relay)."""
        cfn_runtime: agentcore.CfnRuntime = self.runtime.node.default_child  # type: ignore[assignment]
        cfn_runtime.add_property_override(f"EnvironmentVariables.{name}", value)

    def _grant_model(self, role: iam.IRole, model: ModelRef) -> None:
        """Inference on the configured model (and its inference profile), nothing else."""
        if model.integration == MESSAGES_API:
            self._grant_messages_api_model(role, model)
            return
        foundation_model = (
            # Region `*`: a cross-region profile sends each call to whichever of its regions
            # has capacity, and the call is authorized against the model ARN in that region.
            f"arn:{Aws.PARTITION}:bedrock:*::foundation-model/{model.foundation_model_id}"
        )
        resources = [foundation_model]
        if model.inference_profile_id:
            resources.append(
                f"arn:{Aws.PARTITION}:bedrock:{Aws.REGION}:{Aws.ACCOUNT_ID}"
                f":inference-profile/{model.inference_profile_id}"
            )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                resources=resources,
            )
        )
        if model.inference_profile_id:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["bedrock:GetInferenceProfile"], resources=resources[1:]
                )
            )
        # The Claude CLI lists the system-defined inference profiles at start to resolve the
        # model id; List* calls have no resource-level permissions, so `*` is the only option.
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["bedrock:ListInferenceProfiles"], resources=["*"])
        )

    def _grant_messages_api_model(self, role: iam.IRole, model: ModelRef) -> None:
        """bedrock-mantle:CreateInference in the account's default project of this region, for
        requests naming exactly this model (the `bedrock-mantle:Model` condition key). Nothing
        else: no bearer-token calls, no other project, no model listing."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["bedrock-mantle:CreateInference"],
                resources=[
                    f"arn:{Aws.PARTITION}:bedrock-mantle:{Aws.REGION}:{Aws.ACCOUNT_ID}"
                    ":project/default"
                ],
                conditions={"StringEquals": {"bedrock-mantle:Model": model.model_id}},
            )
        )
        # The deploy region may only be known at deploy time: a region without the endpoint
        # stops the deploy before anything is created (synth already refuses a known one).
        require_region(
            self,
            "ModelRegion",
            MESSAGES_API_REGIONS,
            f"{model.model_id} is served only on Bedrock's Messages-API endpoint, "
            "which this region does not have: deploy to "
            f"{', '.join(sorted(MESSAGES_API_REGIONS))}, or pass a model on "
            "InvokeModel (-c model=us.anthropic.claude-sonnet-4-6).",
        )

    def _acknowledge_role_findings(self, hosting: Hosting, model: ModelRef) -> None:
        logs_arn = "arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
        construct_added = (
            "Added by the aws_bedrockagentcore.Runtime construct: AgentCore names the runtime's "
            "log groups and streams after the runtime id at deploy time, inside this prefix."
        )
        acknowledge(
            self.runtime,
            f"IAM5[Resource::{logs_arn}/aws/bedrock-agentcore/runtimes/*]",
            construct_added,
        )
        acknowledge(
            self.runtime,
            f"IAM5[Resource::{logs_arn}/aws/bedrock-agentcore/runtimes/*:log-stream:*]",
            construct_added,
        )
        acknowledge(
            self.runtime,
            f"IAM5[Resource::{logs_arn}*]",
            "Added by the Runtime construct for logs:DescribeLogGroups, a list call that IAM "
            "only authorizes on every log group of the account and region.",
        )
        acknowledge(
            self.runtime,
            "IAM5[Resource::arn:<AWS::Partition>:bedrock-agentcore:<AWS::Region>:"
            "<AWS::AccountId>:workload-identity-directory/default/workload-identity/*]",
            "Added by the Runtime construct: AgentCore creates the runtime's workload identity "
            "with a generated name when the runtime is created.",
        )
        acknowledge(
            self.runtime,
            f"IAM5[Resource::{arn_of(hosting.bucket)}/builds/*]",
            "The agent uploads each new build under builds/<build id>/ (ids made at run time) "
            "and reads them back; nothing outside builds/ in this one bucket.",
        )
        if model.integration != MESSAGES_API:
            acknowledge(
                self.runtime,
                f"IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/{model.foundation_model_id}]",
                "One named model in any region: a cross-region inference profile forwards each "
                "call to one of its regions, chosen per call, so the region cannot be fixed.",
            )
        acknowledge(
            self.runtime,
            "IAM5[Resource::*]",
            "Only read-only calls that IAM cannot scope to a resource: bedrock:"
            "ListInferenceProfiles (InvokeModel models only), and the ECR auth token, X-Ray and "
            "CloudWatch metrics statements the Runtime construct adds for pulling the image and "
            "for observability.",
        )
