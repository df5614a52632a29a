"""The relay Lambda's settings, read from the environment once per container."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

WEBHOOK_SECRET = "SHIPIT_WEBHOOK_SECRET"
WEBHOOK_SECRET_ARN = "SHIPIT_WEBHOOK_SECRET_ARN"
ALLOWED_USER_IDS = "SHIPIT_ALLOWED_USER_IDS"
AGENT_RUNTIME_ARN = "SHIPIT_AGENT_RUNTIME_ARN"
LIFECYCLE_FUNCTION_ARN = "SHIPIT_LIFECYCLE_FUNCTION_ARN"
BOT_TOKEN = "SHIPIT_BOT_TOKEN"
BOT_TOKEN_SECRET_ARN = "SHIPIT_BOT_TOKEN_SECRET_ARN"
TELEGRAM_API_BASE = "SHIPIT_TELEGRAM_API_BASE"
REMIND_AFTER_S = "SHIPIT_REMIND_AFTER_S"
EXPIRE_AFTER_S = "SHIPIT_EXPIRE_AFTER_S"
DELIVER_ATTEMPTS = "SHIPIT_DELIVER_ATTEMPTS"
SUPERVISE_POLL_S = "SHIPIT_SUPERVISE_POLL_S"
SUPERVISE_MAX_S = "SHIPIT_SUPERVISE_MAX_S"
INBOX_BUCKET = "SHIPIT_INBOX_BUCKET"


class SettingsError(Exception):
    """A required relay setting is missing or malformed."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


@dataclass(frozen=True)
class RelaySettings:
    """What the relay needs to decide and act; the secret is already resolved."""

    webhook_secret: str
    allowed_user_ids: frozenset[int]
    lifecycle_function_arn: str  # qualified (alias): durable functions refuse unqualified ARNs
    inbox_bucket: str = ""  # each chat's updates in Telegram's order (agent/inbox.py)

    def __repr__(self) -> str:
        # Keep the secret out of tracebacks and log lines that format the settings.
        return (
            f"RelaySettings(webhook_secret=<{len(self.webhook_secret)} chars>, "
            f"allowed_user_ids={sorted(self.allowed_user_ids)}, "
            f"lifecycle_function_arn={self.lifecycle_function_arn!r}, "
            f"inbox_bucket={self.inbox_bucket!r})"
        )


def parse_allowlist(raw: str) -> frozenset[int]:
    """Telegram user ids from "1, 2,3"; empty means nobody (fail closed).

    A malformed entry raises instead of being skipped: silently dropping "12x" would lock out
    the person it was meant to let in, and a loud cold-start error is easier to find.
    """
    ids: set[int] = set()
    for part in raw.split(","):
        item = part.strip()
        if not item:
            continue
        try:
            ids.add(int(item, 10))
        except ValueError as exc:
            raise SettingsError(ALLOWED_USER_IDS, f"not a Telegram user id: {item!r}") from exc
    return frozenset(ids)


def fetch_secret_string(arn: str) -> str:
    """SecretString of a Secrets Manager secret (one call; the caller caches the result)."""
    from relay.aws_call import get_secret_string  # stdlib only: see relay/aws_call.py

    return get_secret_string(arn)


def from_env(
    env: Mapping[str, str] | None = None,
    fetch_secret: Callable[[str], str] = fetch_secret_string,
) -> RelaySettings:
    """Build settings from `env` (default os.environ); fetches the secret when given an ARN."""
    env = os.environ if env is None else env
    plain = env.get(WEBHOOK_SECRET, "").strip()
    arn = env.get(WEBHOOK_SECRET_ARN, "").strip()
    if plain and arn:
        # Two sources for the one value that guards the endpoint: refuse to guess which wins.
        raise SettingsError(WEBHOOK_SECRET, f"set either it or {WEBHOOK_SECRET_ARN}, not both")
    if arn:
        # Stripped because a secret pasted into the console often gains a trailing newline;
        # Telegram's secret_token alphabet has no whitespace, so nothing real is lost.
        secret = fetch_secret(arn).strip()
        source = WEBHOOK_SECRET_ARN
    else:
        secret, source = plain, WEBHOOK_SECRET
    if not secret:
        raise SettingsError(source, "the webhook secret is empty; refusing to accept any update")
    function_arn = env.get(LIFECYCLE_FUNCTION_ARN, "").strip()
    if not function_arn:
        raise SettingsError(LIFECYCLE_FUNCTION_ARN, "missing")
    return RelaySettings(
        webhook_secret=secret,
        allowed_user_ids=parse_allowlist(env.get(ALLOWED_USER_IDS, "")),
        lifecycle_function_arn=function_arn,
        inbox_bucket=env.get(INBOX_BUCKET, "").strip(),
    )


@dataclass(frozen=True)
class LifecycleSettings:
    """What the lifecycle function needs; the bot token is resolved lazily (only to say sorry)."""

    agent_runtime_arn: str
    telegram_api_base: str
    remind_after_s: int
    expire_after_s: int
    deliver_attempts: int
    supervise_poll_s: int
    supervise_max_s: int
    bot_token: str = ""
    bot_token_secret_arn: str = ""

    def __repr__(self) -> str:
        # Keep a plain-env token out of tracebacks and log lines.
        token = f"<{len(self.bot_token)} chars>" if self.bot_token else "''"
        return (
            f"LifecycleSettings(agent_runtime_arn={self.agent_runtime_arn!r}, bot_token={token}, "
            f"bot_token_secret_arn={self.bot_token_secret_arn!r}, "
            f"remind_after_s={self.remind_after_s}, expire_after_s={self.expire_after_s})"
        )

    def resolve_bot_token(self, fetch_secret: Callable[[str], str] | None = None) -> str:
        """The bot token: plain (local) or from Secrets Manager (AWS), fetched only when needed."""
        if self.bot_token:
            return self.bot_token
        if not self.bot_token_secret_arn:
            raise SettingsError(BOT_TOKEN, f"set it, or {BOT_TOKEN_SECRET_ARN}")
        return (fetch_secret or fetch_secret_string)(self.bot_token_secret_arn).strip()


def _seconds(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw, 10)
    except ValueError as exc:
        raise SettingsError(name, f"not a whole number: {raw!r}") from exc
    if value < minimum:
        raise SettingsError(name, f"must be at least {minimum}")
    return value


def lifecycle_from_env(env: Mapping[str, str] | None = None) -> LifecycleSettings:
    """The lifecycle's settings; durable waits are whole seconds, at least one."""
    env = os.environ if env is None else env
    runtime_arn = env.get(AGENT_RUNTIME_ARN, "").strip()
    if not runtime_arn:
        raise SettingsError(AGENT_RUNTIME_ARN, "missing")
    remind = _seconds(env, REMIND_AFTER_S, 24 * 3600)
    expire = _seconds(env, EXPIRE_AFTER_S, 7 * 24 * 3600)
    if expire <= remind:
        raise SettingsError(EXPIRE_AFTER_S, f"must be longer than {REMIND_AFTER_S}")
    return LifecycleSettings(
        agent_runtime_arn=runtime_arn,
        telegram_api_base=env.get(TELEGRAM_API_BASE, "").strip() or "https://api.telegram.org",
        remind_after_s=remind,
        expire_after_s=expire,
        deliver_attempts=_seconds(env, DELIVER_ATTEMPTS, 6),
        supervise_poll_s=_seconds(env, SUPERVISE_POLL_S, 60),
        supervise_max_s=_seconds(env, SUPERVISE_MAX_S, 9 * 3600),
        bot_token=env.get(BOT_TOKEN, "").strip(),
        bot_token_secret_arn=env.get(BOT_TOKEN_SECRET_ARN, "").strip(),
    )


_lock = threading.Lock()
_cached: RelaySettings | None = None


def get_settings() -> RelaySettings:
    """Settings for this container, built on first use and then reused.

    Cached so Secrets Manager is called once per cold start, not once per update. A failure is
    not cached, so a transient Secrets Manager error heals on the next invocation.
    """
    global _cached
    if _cached is None:
        # A lock because the local API Gateway stand-in runs the handler in worker threads.
        with _lock:
            if _cached is None:
                _cached = from_env()
    return _cached


def reset_cache() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    global _cached
    with _lock:
        _cached = None
