"""Start the agent runtime: `python -m agent` (the container's CMD and the local stack's)."""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from pathlib import Path

from agent import app as app_module
from agent import secrets
from agent.bwrap import os_sandbox_available
from agent.chat import Chat
from agent.commands import Sandbox
from agent.context import Deps
from agent.hosting import LocalHosting, S3Hosting
from agent.journey import Journey
from agent.model_proxy import ModelProxy, cli_model_env
from agent.settings import Settings
from agent.state import StateStore
from agent.tool_env import cli_env, tool_path, write_cli_wrapper

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


def build_factory(settings: Settings):
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
        )
    else:
        hosting = LocalHosting(settings.site_dir, settings.public_url)
    # The CLI reaches the model only through this loopback proxy, which holds the credentials.
    proxy = ModelProxy.from_settings(settings)
    model_env = cli_model_env(settings, proxy.start())
    os.environ.pop("ANTHROPIC_API_KEY", None)  # the proxy has it; nothing else needs it
    env = cli_env(settings.workspace / "home", settings.claude_config_dir, model_env)
    wrapper = write_cli_wrapper(secrets.KEY_DIR.parent / "shipit-bin", bundled_cli(), list(env))
    secret_paths = tuple(p for p in (key_file, secrets.KEY_DIR, settings.claude_config_dir) if p)
    sandbox = Sandbox.detect(_hidden_from_commands(settings, secret_paths))

    async def factory() -> app_module.Runtime:
        from telegram import Bot

        api = settings.telegram_api_base
        bot = Bot(token, base_url=f"{api}/bot", base_file_url=f"{api}/file/bot")
        await bot.initialize()
        deps = Deps(
            settings=settings,
            store=StateStore(settings.workspace),
            chat=Chat(bot),
            hosting=hosting,
            deploy_key=deploy_key,
            cli_wrapper=wrapper,
            cli_env=env,
            secret_paths=secret_paths,
            sandbox=sandbox,
            screen=_screen(settings),
        )
        return app_module.Runtime(Journey(deps), bot)

    return factory


def _hidden_from_commands(settings: Settings, secret_paths: tuple[Path, ...]) -> tuple[Path, ...]:
    """What the repo's commands must not see: the workspace (other chats, transcripts), the
    secrets, and this process's home (cloud config) unless the tools live there."""
    hide = [settings.workspace, *secret_paths]
    home = Path.home()
    if not any(Path(d).is_relative_to(home) for d in tool_path().split(":")):
        hide.append(home)
    return tuple(hide)


def _screen(settings: Settings):
    if not settings.guardrail_id:
        return None
    from agent.screening import Screen

    return Screen.from_settings(settings)


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = Settings.from_env()
    settings.workspace.mkdir(parents=True, exist_ok=True)
    log.info("Shipit agent on port %s; workspace %s", settings.port, settings.workspace)
    log.info("Model: %s", model_label(settings))
    if not os_sandbox_available():
        log.warning(
            "bubblewrap/socat missing or unable to sandbox here: no OS sandbox for Bash or the repo's commands; the hook policy and Shipit's own checks still apply"
        )
    app_module.configure(build_factory(settings))
    app_module.app.run(port=settings.port)


if __name__ == "__main__":
    sys.exit(main())
