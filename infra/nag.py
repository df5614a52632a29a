"""cdk-nag acknowledgments in one form, so every suppression states its reason next to its resource."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one AwsSolutions finding on `scope` (and its children), with why it is fine.

    cdk-nag 3 reports through CDK's policy validation, so a finding is acknowledged with
    `Validations.of(...)`; an IAM5 finding is named with its detail, e.g. `IAM5[Resource::*]`.
    """
    if len(reason) < 20:
        raise ValueError(f"{rule}: a suppression needs a real reason, got {reason!r}")
    Validations.of(scope).acknowledge(Acknowledgment(id=f"AwsSolutions-{rule}", reason=reason))


def arn_of(resource: IConstruct, attribute: str = "Arn") -> str:
    """How cdk-nag spells a resource attribute in a finding, e.g. `<SiteBucket1A2B3C4D.Arn>`."""
    child = resource.node.default_child or resource
    return f"<{Stack.of(resource).get_logical_id(child)}.{attribute}>"  # type: ignore[arg-type]
