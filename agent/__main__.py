"""Start the agent runtime: `python -m agent` (the container's CMD and the local stack's)."""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from pathlib import Path

from agent import app as app_module
from agent import bot_profile, logs, secrets
from agent.chat import Chat, make_bot
from agent.commands import CommandRunner
from agent.context import Deps
from agent.guard.box import Box
from agent.guard.cli import CliBox
from agent.guard.egress import EgressProxy
from agent.guard.env import toolchain_dirs
from agent.guard.rungs import Isolation, probe
from agent.hosting import LocalHosting, S3Hosting
from agent.inbox import Inbox
from agent.journey import Journey
from agent.model_proxy import ModelProxy, cli_model_env
from agent.screenshots import screenshotter_from_settings
from agent.settings import Settings
from agent.state import StateStore

log = logging.getLogger("shipit")


def bundled_cli() -> Path:
    """The `claude` CLI shipped inside claude-agent-sdk (pinned with it)."""
    # find_spec locates the package without importing it (~0.6-1 s, off the start-up path).
    spec = importlib.util.find_spec("claude_agent_sdk")
    return Path(spec.origin).parent / "_bundled" / "claude"


def model_label(settings: Settings) -> str:
    if settings.demo_model:
        return "OFFLINE DEMO MODEL (canned session for the sample app; no real AI)"
    if settings.use_bedrock:
        return f"Amazon Bedrock ({settings.model or 'default model'}, {settings.aws_region})"
    return f"Anthropic API ({settings.model or 'default model'} at {settings.anthropic_base_url or 'api.anthropic.com'})"


def build_factory(settings: Settings, isolation: Isolation):
    """Secrets are read once at start; clients are created on the serving loop."""
    import boto3

    needs_aws = settings.bot_token_secret_arn or settings.deploy_key_secret_arn
    sm = boto3.client("secretsmanager") if needs_aws else None
    token = secrets.bot_token(settings, sm)
    deploy_key = secrets.DeployKey.from_settings(settings, sm)
    key_file = Path(settings.deploy_key_file) if settings.deploy_key_file else None
    if settings.hosting == "s3":
        hosting = S3Hosting(
            settings.site_bucket,
            settings.production_kvs_arn,
            settings.public_url,
            boto3.client("s3"),
            boto3.client("cloudfront-keyvaluestore"),
            settings.previews_url,
        )
    else:
        hosting = LocalHosting(settings.site_dir, settings.public_url, settings.previews_url)
    # The CLI reaches the model only through this proxy, which holds the credentials and serves
    # only the grant of a run that is going on.
    runtime_dir = settings.runs_dir
    runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    proxy = ModelProxy.from_settings(settings)
    proxy.start(socket_path=runtime_dir / "model.sock")
    os.environ.pop("ANTHROPIC_API_KEY", None)  # the proxy has it; nothing else needs it
    egress = EgressProxy(runtime_dir / "egress.sock", settings.registry_hosts).start()
    box = Box(isolation, toolchain_dirs())
    cli_box = CliBox(
        box, proxy, bundled_cli(), runtime_dir, lambda url: cli_model_env(settings, url)
    )
    commands = CommandRunner(box, runtime_dir, settings.command_timeout_s, egress)
    secret_paths = tuple(p for p in (key_file, secrets.KEY_DIR) if p)

    async def factory() -> app_module.Runtime:
        bot = make_bot(token, settings.telegram_api_base, settings.telegram_timeout_s)
        await bot.initialize()
        await bot_profile.set_up(bot, settings.workspace / "app" / "bot_profile.json")
        deps = Deps(
            settings=settings,
            store=StateStore(settings.workspace),
            chat=Chat(bot),
            hosting=hosting,
            cli_box=cli_box,
            commands=commands,
            isolation=isolation,
            deploy_key=deploy_key,
            secret_paths=secret_paths,
            screen=_screen(settings),
            screenshotter=screenshotter_from_settings(settings),
            inbox=Inbox(settings.inbox_bucket, boto3.client("s3"))
            if settings.inbox_bucket
            else None,
        )
        return app_module.Runtime(Journey(deps), bot)

    return factory


def _screen(settings: Settings):
    if not settings.guardrail_id:
        return None
    from agent.screening import Screen

    return Screen.from_settings(settings)


def main() -> None:
    logs.setup()
    settings = Settings.from_env()
    settings.workspace.mkdir(parents=True, exist_ok=True)
    log.info("Shipit agent on port %s; workspace %s", settings.port, settings.workspace)
    log.info("Model: %s", model_label(settings))
    isolation = probe(settings.sandbox)
    if isolation.boxed:
        log.info("Sandbox rung: %s", isolation.describe())
    elif settings.allow_unsandboxed:
        log.warning(
            "Sandbox rung: NONE (%s). SHIPIT_ALLOW_UNSANDBOXED=1: the agent runs UNBOXED and "
            "every preview says so.",
            "; ".join(isolation.why_not_stronger),
        )
    else:
        log.error(
            "Sandbox rung: NONE (%s). Change requests will be refused until a box works here "
            "(install bubblewrap and socat, or the setuid bwrap, or use a kernel with Landlock "
            "ABI >= 4), or until SHIPIT_ALLOW_UNSANDBOXED=1 is set.",
            "; ".join(isolation.why_not_stronger),
        )
    app_module.configure(build_factory(settings, isolation))
    if settings.listen_fd is not None:
        # The local stack binds the port and hands the socket over: no window for another
        # process to take the port between choosing it and binding it.
        app_module.app.run(fd=settings.listen_fd)
    else:
        app_module.app.run(port=settings.port)


if __name__ == "__main__":
    sys.exit(main())
