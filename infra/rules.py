"""Deploy-time rules: a region the stack cannot serve stops the deploy before anything is made.

Synth already refuses a region it knows; an environment-agnostic template learns its region only
at deploy time, so CloudFormation checks it there.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Aws, CfnRule, CfnRuleAssertion, Fn
from constructs import Construct


def require_region(scope: Construct, construct_id: str, regions: Iterable[str], why: str) -> None:
    """Refuse a deploy outside `regions`; `why` is what the owner reads (and what to do)."""
    CfnRule(
        scope,
        construct_id,
        assertions=[
            CfnRuleAssertion(
                assert_=Fn.condition_contains(sorted(regions), Aws.REGION),
                assert_description=why,
            )
        ],
    )
