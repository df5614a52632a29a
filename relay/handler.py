"""Lambda entry point: verify Telegram's secret, drop strangers, hand the update to AgentCore."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Mapping
from typing import Any

# Imported at module level on purpose: Lambda runs module code in the init phase, so the
# import cost lands in the cold start once instead of in the first request's latency.
import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from relay import settings as relay_settings
from relay.settings import parse_allowlist

# parse_allowlist lives with the settings but is listed here so every pure function is in one place.
__all__ = [
    "MalformedUpdate",
    "chat_id",
    "handler",
    "parse_allowlist",
    "parse_update",
    "sender_id",
    "session_id_for_chat",
    "verify_secret",
]

log = logging.getLogger("shipit.relay")
log.setLevel(logging.INFO)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
SESSION_PREFIX = "shipit-chat-"

# Update kinds that carry one object; exactly one of these is present in a real update.
# Listed rather than discovered so an unexpected key can never be mistaken for the sender.
_UPDATE_KINDS = (
    "message",
    "edited_message",
    "callback_query",
    "channel_post",
    "edited_channel_post",
    "business_message",
    "edited_business_message",
    "business_connection",
    "message_reaction",
    "inline_query",
    "chosen_inline_result",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
)

# No retries inside the Lambda: Telegram already redelivers on any non-2xx and the agent
# dedupes by update_id, while backoff here could push us past API Gateway's ~30 s limit.
# connect + read stays under that limit (the function timeout should sit just above it).
_CLIENT_CONFIG = Config(
    connect_timeout=3,
    read_timeout=25,
    retries={"max_attempts": 1, "mode": "standard"},
)


class MalformedUpdate(ValueError):
    """The body is not a Telegram update; retrying the same bytes can never help."""


# ---------------------------------------------------------------- pure functions (no I/O)


def verify_secret(headers: Mapping[str, str] | None, expected: str) -> bool:
    """True when the secret header equals `expected`, compared in constant time."""
    if not expected or not headers:
        return False
    # HTTP API lower-cases header names; the loop is for callers that do not.
    given = next((v for k, v in headers.items() if k.lower() == SECRET_HEADER), None)
    if not isinstance(given, str):
        return False
    # Bytes, because compare_digest raises TypeError on non-ASCII str and a forged header
    # must give 403, not a crash.
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _int_id(value: Any) -> int | None:
    # bool is an int subclass; `true` must not pass as user 1.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _update_object(update: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for kind in _UPDATE_KINDS:
        obj = update.get(kind)
        if isinstance(obj, Mapping):
            return obj
    return None


def sender_id(update: Mapping[str, Any]) -> int | None:
    """The Telegram user who caused the update (`from.id`, or `user.id` for reactions/polls)."""
    obj = _update_object(update)
    if obj is None:
        return None
    for key in ("from", "user"):
        who = obj.get(key)
        if isinstance(who, Mapping):
            return _int_id(who.get("id"))
    return None


def chat_id(update: Mapping[str, Any]) -> int | None:
    """The chat the update belongs to; for a button press, the chat of the pressed message."""
    obj = _update_object(update)
    if obj is None:
        return None
    chat = obj.get("chat")
    if not isinstance(chat, Mapping):
        message = obj.get("message")
        chat = message.get("chat") if isinstance(message, Mapping) else None
    return _int_id(chat.get("id")) if isinstance(chat, Mapping) else None


def session_id_for_chat(chat: int) -> str:
    """The AgentCore runtime session id for a chat: "shipit-chat-" + sha256(str(chat)) in hex.

    One chat maps to one session (so one writer per chat). Hashing gives a fixed 76 characters,
    inside AgentCore's 33-256 limit for any id (group ids are negative and of varying length),
    using only [a-z0-9-]. It is one-way: the agent reads the chat id from the update itself.
    """
    if _int_id(chat) is None:
        raise TypeError(f"chat id must be an int, got {type(chat).__name__}")
    return SESSION_PREFIX + hashlib.sha256(str(chat).encode("ascii")).hexdigest()


def parse_update(event: Mapping[str, Any]) -> dict[str, Any]:
    """The Telegram update in an HTTP API (payload 2.0) event, or MalformedUpdate."""
    body = event.get("body")
    if not isinstance(body, str) or not body:
        raise MalformedUpdate("empty body")
    raw: bytes | str = body
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedUpdate("body is not valid base64") from exc
    try:
        update = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedUpdate("body is not JSON") from exc
    if not isinstance(update, dict):
        raise MalformedUpdate("body is not a JSON object")
    if _int_id(update.get("update_id")) is None:
        # The agent dedupes by update_id; an update without one cannot be handled safely.
        raise MalformedUpdate("no integer update_id")
    return update


# ---------------------------------------------------------------- I/O: the runtime client

_client_lock = threading.Lock()
_client = None


def _agentcore():
    """One bedrock-agentcore client per container, created on first use.

    Honours AWS_ENDPOINT_URL_BEDROCK_AGENTCORE, which is how the local stack points it at the
    emulator. A private Session because boto3's default session is not safe to create from
    several threads at once (the local API Gateway stand-in uses a thread pool).
    """
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = boto3.session.Session().client("bedrock-agentcore", config=_CLIENT_CONFIG)
    return _client


def _reset_for_tests() -> None:
    """Forget cached settings and the client, so a test's environment is read afresh."""
    global _client
    with _client_lock:
        _client = None
    relay_settings.reset_cache()


def _forward(runtime_arn: str, session_id: str, update: dict[str, Any]) -> None:
    response = _agentcore().invoke_agent_runtime(
        agentRuntimeArn=runtime_arn,
        runtimeSessionId=session_id,
        payload=json.dumps({"update": update}).encode("utf-8"),
        contentType="application/json",
        accept="application/json",
    )
    stream = response["response"]
    try:
        # Drained so the pooled connection can be reused by the next warm invocation.
        stream.read()
    finally:
        stream.close()


# ---------------------------------------------------------------- the handler


def _reply(status: int, ok: bool) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"ok": ok}),
        "isBase64Encoded": False,
    }


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway HTTP API (payload 2.0) → verify → allowlist → InvokeAgentRuntime."""
    # Misconfiguration raises here on purpose: Lambda counts it as an error (alarms see it),
    # API Gateway answers 500 and Telegram retries until someone fixes the setting.
    settings = relay_settings.get_settings()

    if not verify_secret(event.get("headers"), settings.webhook_secret):
        # Before the body is even looked at: nothing from an unauthenticated caller is parsed.
        log.warning("rejected: missing or wrong secret header")
        return _reply(403, ok=False)

    try:
        update = parse_update(event)
    except MalformedUpdate as exc:
        # 200, not 400: the caller proved it holds the secret, so this is Telegram (or us), and
        # the same bytes will never parse. Telegram redelivers any non-2xx for up to 24 h and
        # delivers each chat's updates in order, so a 4xx would stall that chat behind garbage.
        log.error("dropped malformed update: %s", exc)
        return _reply(200, ok=True)

    update_id = update["update_id"]
    user = sender_id(update)
    if user is None or user not in settings.allowed_user_ids:
        # 200 so Telegram does not redeliver; no runtime call, so strangers cost nothing.
        log.info("dropped update %s from user %s: not on the allowlist", update_id, user)
        return _reply(200, ok=True)

    chat = chat_id(update)
    if chat is None:
        # No chat means no session to route to and nowhere for the agent to answer.
        log.info("dropped update %s from user %s: no chat", update_id, user)
        return _reply(200, ok=True)

    try:
        _forward(settings.agent_runtime_arn, session_id_for_chat(chat), update)
    except (ClientError, BotoCoreError) as exc:
        # 500 so Telegram redelivers; the agent dedupes by update_id if it did get through.
        log.error("runtime call failed for update %s: %s", update_id, exc)
        return _reply(500, ok=False)

    log.info("forwarded update %s from user %s", update_id, user)
    return _reply(200, ok=True)
