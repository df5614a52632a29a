"""The agent's persistent workspace: an S3 Files file system over a versioned bucket, one mount target per private subnet."""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3files as s3files
from constructs import Construct

from infra.buckets import private_bucket
from infra.config import AGENT_GID, AGENT_UID, WORKSPACE_ROOT_DIR
from infra.nag import acknowledge, arn_of
from infra.network import Network


class Workspace(Construct):
    """Bucket, sync role, file system, mount targets (with their security group), access point."""

    def __init__(
        self, scope: Construct, construct_id: str, *, network: Network, log_bucket: s3.IBucket
    ) -> None:
        super().__init__(scope, construct_id)

        # Repo clones, per-chat state and Claude transcripts: losing them loses conversations,
        # so the bucket outlives the stack and keeps old versions (S3 Files requires versioning).
        self.bucket = private_bucket(
            self,
            "Bucket",
            log_bucket=log_bucket,
            log_prefix="workspace-bucket/",
            versioned=True,
            lifecycle_rules=[
                # git rewrites many small files; old versions would otherwise pile up forever.
                s3.LifecycleRule(
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )

        # S3 Files (built on EFS) assumes this role to sync the file system with the bucket.
        self.sync_role = iam.Role(
            self,
            "SyncRole",
            assumed_by=iam.ServicePrincipal(
                "elasticfilesystem.amazonaws.com",
                conditions={
                    # Only on behalf of this account's file systems (confused-deputy guard).
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:SourceArn": (
                            f"arn:{Aws.PARTITION}:s3files:{Aws.REGION}:{Aws.ACCOUNT_ID}"
                            ":file-system/*"
                        )
                    },
                },
            ),
            description="S3 Files syncs the Shipit workspace file system with its bucket",
        )
        self.sync_role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket", "s3:ListBucketVersions"],
                resources=[self.bucket.bucket_arn],
            )
        )
        # The object actions are AWS's documented S3 Files sync-role policy, wildcards and all:
        # which Get/Put/Delete variants the sync uses is not published, and a missing one
        # would surface only as a silently stale workspace. Scoped to this one bucket.
        self.sync_role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "s3:AbortMultipartUpload",
                    "s3:DeleteObject*",
                    "s3:GetObject*",
                    "s3:List*",
                    "s3:PutObject*",
                ],
                resources=[self.bucket.arn_for_objects("*")],
            )
        )
        # S3 Files watches the bucket through EventBridge rules it creates and names itself.
        self.sync_role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "events:DeleteRule",
                    "events:DisableRule",
                    "events:EnableRule",
                    "events:PutRule",
                    "events:PutTargets",
                    "events:RemoveTargets",
                ],
                resources=[
                    f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}"
                    ":rule/DO-NOT-DELETE-S3-Files*"
                ],
                conditions={
                    "StringEquals": {"events:ManagedBy": "elasticfilesystem.amazonaws.com"}
                },
            )
        )
        self.sync_role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "events:DescribeRule",
                    "events:ListRuleNamesByTarget",
                    "events:ListRules",
                    "events:ListTargetsByRule",
                ],
                resources=[f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:rule/*"],
            )
        )
        acknowledge(
            self.sync_role,
            f"IAM5[Resource::{arn_of(self.bucket)}/*]",
            "S3 Files mirrors the whole bucket into the file system, so it needs every object "
            "of this one bucket; no other bucket is named.",
        )
        for action in ("s3:DeleteObject*", "s3:GetObject*", "s3:List*", "s3:PutObject*"):
            acknowledge(
                self.sync_role,
                f"IAM5[Action::{action}]",
                "AWS's documented S3 Files sync-role policy uses these action wildcards; the "
                "exact variants the sync calls are not published. Limited to this bucket.",
            )
        acknowledge(
            self.sync_role,
            "IAM5[Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/"
            "DO-NOT-DELETE-S3-Files*]",
            "S3 Files names its own EventBridge rules with this prefix; the names are not known "
            "before it creates them, and events:ManagedBy limits them to rules S3 Files manages.",
        )
        acknowledge(
            self.sync_role,
            "IAM5[Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/*]",
            "Read-only EventBridge listing that S3 Files needs to find its rules; List* calls "
            "cannot be scoped to rule names, and this account and region are fixed.",
        )

        self.file_system = s3files.CfnFileSystem(
            self,
            "FileSystem",
            bucket=self.bucket.bucket_arn,
            role_arn=self.sync_role.role_arn,
            # The bucket is made here for this file system alone, and its one lifecycle rule
            # only drops versions 30 days after they were replaced; S3 Files would otherwise
            # refuse to create the file system over any bucket-configuration advisory.
            accept_bucket_warning=True,
        )
        # The role's policy must exist before S3 Files first assumes it.
        self.file_system.node.add_dependency(self.sync_role)

        self.mount_target_sg = ec2.SecurityGroup(
            self,
            "MountTargetSecurityGroup",
            vpc=network.vpc,
            description="Shipit workspace mount targets: NFS from the agent runtime only",
            allow_all_outbound=False,
        )
        # NFS from the runtime's security group and from nothing else.
        self.mount_target_sg.add_ingress_rule(
            network.runtime_sg, ec2.Port.tcp(2049), "NFS from the Shipit agent runtime"
        )
        network.runtime_sg.add_egress_rule(
            self.mount_target_sg, ec2.Port.tcp(2049), "NFS to the workspace mount targets"
        )

        subnets = network.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.mount_targets = [
            s3files.CfnMountTarget(
                self,
                f"MountTarget{index}",
                file_system_id=self.file_system.attr_file_system_id,
                subnet_id=subnet.subnet_id,
                security_groups=[self.mount_target_sg.security_group_id],
            )
            for index, subnet in enumerate(subnets.subnets)
        ]

        # Every NFS call through this access point runs as the container's user, and the root
        # directory is created owned by it, so the non-root agent can write without chmod games.
        self.access_point = s3files.CfnAccessPoint(
            self,
            "AccessPoint",
            file_system_id=self.file_system.attr_file_system_id,
            posix_user=s3files.CfnAccessPoint.PosixUserProperty(
                uid=str(AGENT_UID), gid=str(AGENT_GID)
            ),
            root_directory=s3files.CfnAccessPoint.RootDirectoryProperty(
                path=WORKSPACE_ROOT_DIR,
                creation_permissions=s3files.CfnAccessPoint.CreationPermissionsProperty(
                    owner_uid=str(AGENT_UID), owner_gid=str(AGENT_GID), permissions="750"
                ),
            ),
        )

    def grant_client_access(self, grantee: iam.IGrantable) -> None:
        """Mount and write through this workspace's access point (and no other)."""
        only_this_access_point = {
            "StringEquals": {"s3files:AccessPointArn": self.access_point.attr_access_point_arn}
        }
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3files:ClientMount", "s3files:ClientWrite"],
                resources=[self.file_system.attr_file_system_arn],
                conditions=only_this_access_point,
            )
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3files:GetAccessPoint"],
                resources=[self.access_point.attr_access_point_arn],
            )
        )
