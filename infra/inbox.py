"""The chats' inbox bucket: the relay records each update in its chat's order; the agent reads it.

Why a bucket: each update gets its own durable execution, and executions race, so the agent
restores a chat's order from here (agent/inbox.py). Entries live seconds; a one-day expiry
sweeps any left behind. The relay may only write, the agent only read and delete.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.buckets import private_bucket
from infra.nag import acknowledge, arn_of


class Inbox(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, log_bucket: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        self.bucket = private_bucket(
            self,
            "Bucket",
            log_bucket=log_bucket,
            log_prefix="inbox-bucket/",
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(1))],
        )

    def grant_record(self, grantee: iam.IGrantable) -> None:
        """The relay: PutObject, nothing else (it never reads another chat's messages)."""
        self._grant(
            grantee,
            ["s3:PutObject"],
            "The relay writes each update as <chat id>/<time>-<update id>.json, named at run time; it can only write, and only here.",
        )

    def grant_take(self, grantee: iam.IGrantable) -> None:
        """The agent: list, read and delete entries."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn])
        )
        self._grant(
            grantee,
            ["s3:GetObject", "s3:DeleteObject"],
            "The agent reads and deletes the entries of the chats it serves, named by the relay at run time; nothing else in this one bucket.",
        )

    def _grant(self, grantee: iam.IGrantable, actions: list[str], reason: str) -> None:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=actions, resources=[self.bucket.arn_for_objects("*")])
        )
        acknowledge(grantee, f"IAM5[Resource::{arn_of(self.bucket)}/*]", reason)
