"""Lambda entry point: verify Telegram's secret, answer strangers, start the request lifecycle.

The relay only decides and hands off: it starts a durable execution of relay/lifecycle.py (an
asynchronous Lambda invoke named after the update, so a redelivery never starts twice) and
answers 200 at once, with a typing indicator in the webhook response itself. Everything slow
(AgentCore cold starts, retries, supervision) happens in the lifecycle. Standard library only:
see relay/aws_call.py for why.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from relay import aws_call, texts
from relay import settings as relay_settings
from relay.settings import parse_allowlist

# parse_allowlist lives with the settings but is listed here so every pure function is in one place.
__all__ = [
    "MalformedUpdate",
    "chat_id",
    "execution_name",
    "handler",
    "inbox_key",
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

STRANGER_REPLY_EVERY_S = 24 * 3600
# Bounded so a flood of strangers cannot grow the container's memory without limit.
_STRANGERS_KEPT = 10_000


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


def execution_name(update: Mapping[str, Any]) -> str:
    """The durable execution's name: update id + a hash of the whole update (≤ 64 chars).

    Lambda treats the name as the idempotency key, so a redelivered update (same bytes) finds
    the execution it already started. The hash keeps an update id that Telegram reuses after a
    quiet week from colliding with an old execution of different content.
    """
    canonical = json.dumps(update, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:40]
    return f"u{update['update_id']}-{digest}"


def lifecycle_input(update: dict[str, Any], chat: int, inbox_key: str = "") -> dict[str, Any]:
    """What the lifecycle starts from: the raw update, where to answer, the session, and the
    update's place in its chat's inbox (when there is one)."""
    start = {"update": update, "chat_id": chat, "session_id": session_id_for_chat(chat)}
    return start | ({"inbox_key": inbox_key} if inbox_key else {})


def received_ms(event: Mapping[str, Any], now: float) -> int:
    """When API Gateway received the request (ms), else `now`: the chat's order (see inbox_key)."""
    context = event.get("requestContext")
    stamp = context.get("timeEpoch") if isinstance(context, Mapping) else None
    return stamp if _int_id(stamp) is not None and stamp > 0 else int(now * 1000)


def inbox_key(chat: int, received: int, update_id: int) -> str:
    """The update's key in its chat's inbox (agent/inbox.py): sorts in Telegram's order.

    Telegram sends a chat's next update only after the relay answered the last one, so the
    receive time orders a chat's updates; the update id breaks a tie within a millisecond.
    Zero-padded so that string order is number order.
    """
    return f"{chat}/{received:013d}-{max(update_id, 0):012d}.json"


def is_private_message(update: Mapping[str, Any]) -> bool:
    message = update.get("message")
    chat = message.get("chat") if isinstance(message, Mapping) else None
    return isinstance(chat, Mapping) and chat.get("type") == "private"


class StrangerReplies:
    """Who was told "this bot is private" lately: at most one reply per person per day.

    Kept in the container's memory, not a table: it costs nothing per update and needs no
    permission, and the worst case (a second warm container) is a second polite line that day.
    """

    def __init__(self, every_s: float = STRANGER_REPLY_EVERY_S, kept: int = _STRANGERS_KEPT):
        self.every_s, self.kept = every_s, kept
        self._last: OrderedDict[int, float] = OrderedDict()
        self._lock = threading.Lock()

    def due(self, user: int, now: float) -> bool:
        with self._lock:
            last = self._last.get(user)
            if last is not None and now - last < self.every_s:
                return False
            self._last[user] = now
            self._last.move_to_end(user)
            while len(self._last) > self.kept:
                self._last.popitem(last=False)
            return True


_strangers = StrangerReplies()


def _reset_for_tests() -> None:
    """Forget cached settings and who was answered, so a test starts from a cold container."""
    global _strangers
    _strangers = StrangerReplies()
    relay_settings.reset_cache()


def _start_lifecycle(function_arn: str, name: str, payload: dict[str, Any]) -> None:
    aws_call.invoke_event(function_arn, json.dumps(payload).encode("utf-8"), name)


# ---------------------------------------------------------------- the handler


def _reply(status: int, ok: bool, method: dict[str, Any] | None = None) -> dict[str, Any]:
    # A 200 body naming a Bot API method is performed by Telegram itself: no token needed here.
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(method if method is not None else {"ok": ok}),
        "isBase64Encoded": False,
    }


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """API Gateway HTTP API (payload 2.0) → verify → allowlist → start the lifecycle."""
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
        # 200 so Telegram does not redeliver; no runtime call, so strangers cost nothing. One
        # polite line a day in a private chat, so a would-be user knows what to ask the owner.
        log.info("dropped update %s from user %s: not on the allowlist", update_id, user)
        if user is not None and is_private_message(update) and _strangers.due(user, time.time()):
            text = texts.text("stranger", user_id=user)
            chat = chat_id(update)
            return _reply(
                200, ok=True, method={"method": "sendMessage", "chat_id": chat, "text": text}
            )
        return _reply(200, ok=True)

    chat = chat_id(update)
    if chat is None:
        # No chat means no session to route to and nowhere for the agent to answer.
        log.info("dropped update %s from user %s: no chat", update_id, user)
        return _reply(200, ok=True)

    key = ""
    if settings.inbox_bucket:
        # Before answering Telegram: the chat's next update must find this one in the inbox.
        key = inbox_key(chat, received_ms(event, time.time()), update_id)
        try:
            aws_call.put_object(settings.inbox_bucket, key, json.dumps(update).encode("utf-8"))
        except aws_call.AwsCallError as exc:
            log.error("recording update %s in the inbox failed: %s", update_id, exc)
            return _reply(500, ok=False)  # Telegram redelivers; nothing was started yet
    name = execution_name(update)
    try:
        _start_lifecycle(settings.lifecycle_function_arn, name, lifecycle_input(update, chat, key))
    except aws_call.AwsCallError as exc:
        if exc.code == "DurableExecutionAlreadyStartedException":
            # Same name, different bytes: this update's execution exists already.
            log.info("update %s: lifecycle %s already started", update_id, name)
            return _reply(200, ok=True)
        # 500 so Telegram redelivers; the execution name makes the retry idempotent.
        log.error("starting the lifecycle failed for update %s: %s", update_id, exc)
        return _reply(500, ok=False)

    log.info("update %s from user %s: lifecycle %s started", update_id, user, name)
    typing = {"method": "sendChatAction", "chat_id": chat, "action": "typing"}
    return _reply(200, ok=True, method=typing)
