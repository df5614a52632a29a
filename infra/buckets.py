"""Shipit's private buckets share one shape: encrypted, no public access, TLS only, logged, kept."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct


def private_bucket(
    scope: Construct, construct_id: str, *, log_bucket: s3.IBucket, log_prefix: str, **extra
) -> s3.Bucket:
    """A bucket that outlives the stack (its data is the owner's), with access logs."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        server_access_logs_bucket=log_bucket,
        server_access_logs_prefix=log_prefix,
        removal_policy=RemovalPolicy.RETAIN,
        **extra,
    )
