"""Every setting of the agent runtime, read from the environment in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


class SettingsError(Exception):
    """A required setting is missing or malformed."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(name, f"expected a whole number, got {raw!r}") from exc


def _optional_int(env: dict[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    return _int(env, name, 0) if raw else None


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(name, f"expected a number, got {raw!r}") from exc


# Where the install step may download from (HTTPS only, through Shipit's egress proxy).
DEFAULT_REGISTRIES = (
    "registry.npmjs.org,registry.yarnpkg.com,repo.yarnpkg.com,pypi.org,files.pythonhosted.org"
)


@dataclass(frozen=True)
class Settings:
    """The agent's configuration. Secrets are resolved later (see agent/secrets.py)."""

    workspace: Path
    repo_url: str
    main_branch: str
    telegram_api_base: str
    bot_token: str
    bot_token_secret_arn: str
    deploy_key_secret_arn: str
    deploy_key_file: str
    hosting: str  # "local" or "s3"
    public_url: str
    previews_url: str  # the preview origin (see agent/hosting.py); empty: previews under /previews/
    site_dir: Path
    site_bucket: str
    production_kvs_arn: str
    model: str
    use_bedrock: bool
    anthropic_base_url: str
    anthropic_api_key: str
    bedrock_base_url: str
    aws_region: str
    max_turns: int
    max_budget_usd: float
    fix_rounds: int
    command_timeout_s: int
    claude_timeout_s: int
    sandbox: str  # auto, bubblewrap, bubblewrap-setuid, landlock or none
    allow_unsandboxed: bool
    registry_hosts: tuple[str, ...]
    guardrail_id: str
    guardrail_version: str
    demo_model: bool
    port: int
    status_edit_interval_s: float
    cache_dir: Path  # local disk, never the workspace mount: dependency installs
    npm_seed_cache: Path | None  # a warmed npm download cache installs start from
    install_offline: bool  # installs use only that cache, never the registry (tests, CI)
    telegram_timeout_s: float = 10.0  # one Bot API call's limit; then it is retried
    listen_fd: int | None = None  # an already-bound socket to serve on (the local stack)
    owner_chat_id: int | None = None  # the owner's Telegram chat: self-check reports, /selftest
    webhook_url: str = ""  # where Telegram should deliver (the self-check compares)
    deployed_version: str = ""  # the image hash the stack deployed (first-start self-check)
    extra: dict[str, str] = field(default_factory=dict)
    # Visual receipt: the local screenshot service, or the screenshot Lambda (AWS).
    screenshot_url: str = ""
    screenshot_function: str = ""
    # The daily spend cap per app (0 = none); the owner chat is owner_chat_id above.
    daily_cap_usd: float = 0.0
    # Where the relay records each chat's updates in Telegram's order (agent/inbox.py).
    inbox_bucket: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        workspace = Path(env.get("SHIPIT_WORKSPACE", "/mnt/workspace"))
        hosting = env.get("SHIPIT_HOSTING", "local").strip().lower()
        if hosting not in ("local", "s3"):
            raise SettingsError("SHIPIT_HOSTING", f"must be 'local' or 's3', got {hosting!r}")
        return cls(
            workspace=workspace,
            repo_url=env.get("SHIPIT_REPO_URL", ""),
            main_branch=env.get("SHIPIT_MAIN_BRANCH", "main"),
            telegram_api_base=env.get(
                "SHIPIT_TELEGRAM_API_BASE", "https://api.telegram.org"
            ).rstrip("/"),
            bot_token=env.get("SHIPIT_BOT_TOKEN", ""),
            bot_token_secret_arn=env.get("SHIPIT_BOT_TOKEN_SECRET_ARN", ""),
            deploy_key_secret_arn=env.get("SHIPIT_DEPLOY_KEY_SECRET_ARN", ""),
            deploy_key_file=env.get("SHIPIT_DEPLOY_KEY_FILE", ""),
            hosting=hosting,
            public_url=env.get("SHIPIT_PUBLIC_URL", "").rstrip("/"),
            previews_url=env.get("SHIPIT_PREVIEW_URL", "").rstrip("/"),
            site_dir=Path(env.get("SHIPIT_SITE_DIR", str(workspace / "site"))),
            site_bucket=env.get("SHIPIT_SITE_BUCKET", ""),
            production_kvs_arn=env.get("SHIPIT_PRODUCTION_KVS_ARN", ""),
            model=env.get("ANTHROPIC_MODEL", ""),
            use_bedrock=env.get("CLAUDE_CODE_USE_BEDROCK", "") in ("1", "true", "True"),
            anthropic_base_url=env.get("ANTHROPIC_BASE_URL", ""),
            anthropic_api_key=env.get("ANTHROPIC_API_KEY", ""),
            bedrock_base_url=env.get("ANTHROPIC_BEDROCK_BASE_URL", ""),
            aws_region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "")),
            max_turns=_int(env, "SHIPIT_MAX_TURNS", 40),
            max_budget_usd=_float(env, "SHIPIT_MAX_BUDGET_USD", 2.0),
            fix_rounds=_int(env, "SHIPIT_FIX_ROUNDS", 3),
            command_timeout_s=_int(env, "SHIPIT_COMMAND_TIMEOUT_S", 600),
            claude_timeout_s=_int(env, "SHIPIT_CLAUDE_TIMEOUT_S", 900),
            sandbox=env.get("SHIPIT_SANDBOX", "auto").strip().lower() or "auto",
            allow_unsandboxed=env.get("SHIPIT_ALLOW_UNSANDBOXED", "") == "1",
            registry_hosts=tuple(
                h.strip().lower()
                for h in env.get("SHIPIT_REGISTRY_HOSTS", DEFAULT_REGISTRIES).split(",")
                if h.strip()
            ),
            guardrail_id=env.get("SHIPIT_GUARDRAIL_ID", ""),
            guardrail_version=env.get("SHIPIT_GUARDRAIL_VERSION", "DRAFT"),
            demo_model=env.get("SHIPIT_DEMO_MODEL", "") == "1",
            port=_int(env, "SHIPIT_AGENT_PORT", 8080),
            status_edit_interval_s=_float(env, "SHIPIT_STATUS_EDIT_INTERVAL_S", 1.5),
            cache_dir=Path(env.get("SHIPIT_CACHE_DIR", "/tmp/shipit-cache")),
            npm_seed_cache=Path(env["SHIPIT_NPM_SEED_CACHE"])
            if env.get("SHIPIT_NPM_SEED_CACHE")
            else None,
            install_offline=env.get("SHIPIT_INSTALL_OFFLINE", "") == "1",
            telegram_timeout_s=_float(env, "SHIPIT_TELEGRAM_TIMEOUT_S", 10.0),
            listen_fd=_int(env, "SHIPIT_AGENT_LISTEN_FD", -1)
            if env.get("SHIPIT_AGENT_LISTEN_FD")
            else None,
            owner_chat_id=_optional_int(env, "SHIPIT_OWNER_CHAT_ID"),
            webhook_url=env.get("SHIPIT_WEBHOOK_URL", "").strip(),
            deployed_version=env.get("SHIPIT_DEPLOYED_VERSION", "").strip(),
            screenshot_url=env.get("SHIPIT_SCREENSHOT_URL", "").rstrip("/"),
            screenshot_function=env.get("SHIPIT_SCREENSHOT_FUNCTION", ""),
            daily_cap_usd=_float(env, "SHIPIT_DAILY_CAP_USD", 0.0),
            inbox_bucket=env.get("SHIPIT_INBOX_BUCKET", "").strip(),
        )

    @property
    def claude_config_dir(self) -> Path:
        """Claude session transcripts live on the workspace so conversations survive restarts."""
        return self.workspace / "claude"

    @property
    def runs_dir(self) -> Path:
        """Scratch for boxed runs (fresh homes, wrappers): local disk, never the workspace."""
        import tempfile

        return Path(tempfile.gettempdir()) / "shipit-runs"

    @property
    def chats_dir(self) -> Path:
        return self.workspace / "chats"
