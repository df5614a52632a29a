"""CDK entry point (`cdk.json` runs `python -m infra.app`): one environment-agnostic Shipit stack, checked by cdk-nag."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.stack import ShipitStack

STACK_NAME = "Shipit"


def build_app(context: Mapping[str, Any] | None = None, outdir: str | None = None) -> App:
    """The app exactly as `cdk deploy` builds it; tests call this with cdk.json's context."""
    app = App(context=dict(context) if context is not None else None, outdir=outdir)
    # No env=: the template must synthesize without credentials; the account and region come
    # from the deploying profile.
    ShipitStack(
        app,
        STACK_NAME,
        description="Shipit: change your web app from Telegram",
    )
    add_checks(app)
    return app


def add_checks(app: App) -> None:
    """cdk-nag's AwsSolutions pack as a CDK validation plugin.

    An unacknowledged finding fails the synth, so `cdk deploy` cannot ship a regression past it.
    """
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def main() -> None:
    build_app().synth()


if __name__ == "__main__":
    main()
