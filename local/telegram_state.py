"""The Telegram emulator's state: chats, messages, files, the update queue and webhook delivery."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


class ApiError(Exception):
    """A Bot API error, rendered as {"ok": false, "error_code", "description", "parameters"}."""

    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters

    def body(self) -> dict:
        body = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(text: str) -> ApiError:
    return ApiError(400, f"Bad Request: {text}")


@dataclass
class RateLimit:
    """At most `max_calls` sends/edits per chat per `window` seconds, else 429 with retry_after.

    `retry_after` fixes the reported wait (real Telegram says 30–240 s for edit bursts); None
    reports the seconds until the oldest call leaves the window.
    """

    max_calls: int = 20
    window: float = 60.0
    retry_after: int | None = None


@dataclass
class Message:
    """One message as the person sees it now, in either direction."""

    message_id: int
    chat_id: int
    from_bot: bool
    sender: dict
    date: int
    text: str | None = None
    entities: list = field(default_factory=list)
    source: str | None = None  # the text as the bot sent it, before parse_mode
    parse_mode: str | None = None
    caption: str | None = None
    photo: list | None = None
    reply_markup: dict | None = None
    edit_date: int | None = None
    edit_count: int = 0
    deleted: bool = False
    version: int = 0
    media_group_id: str | None = None  # set on each photo of an album
    link_preview: dict | None = None  # link_preview_options as sent

    def to_api(self, chat: dict) -> dict:
        """The Message object the Bot API returns (what python-telegram-bot parses)."""
        m: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": chat,
            "date": self.date,
        }
        if self.photo is not None:
            m["photo"] = self.photo
            if self.caption:
                m["caption"] = self.caption
                if self.entities:
                    m["caption_entities"] = self.entities
        else:
            m["text"] = self.text
            if self.entities:
                m["entities"] = self.entities
        if self.media_group_id:
            m["media_group_id"] = self.media_group_id
        if self.link_preview and not self.link_preview.get("is_disabled"):
            m["link_preview_options"] = self.link_preview
        if self.edit_date:
            m["edit_date"] = self.edit_date
        if self.reply_markup:
            m["reply_markup"] = self.reply_markup
        return m

    def to_view(self) -> dict:
        """The test API's flat form: what is on screen, plus counters tests synchronise on."""
        return {
            "message_id": self.message_id,
            "from_bot": self.from_bot,
            "sender_id": self.sender["id"],
            "date": self.date,
            "kind": "photo" if self.photo is not None else "text",
            "text": (self.caption or "") if self.photo is not None else self.text,
            "entities": self.entities,
            "source": self.source,
            "parse_mode": self.parse_mode,
            "photo_url": f"/_emulator/files/{self.photo[-1]['file_id']}" if self.photo else None,
            "photo_size": [self.photo[-1]["width"], self.photo[-1]["height"]]
            if self.photo
            else None,
            "media_group_id": self.media_group_id,
            "link_preview": self.link_preview,
            "buttons": (self.reply_markup or {}).get("inline_keyboard", []),
            "edit_count": self.edit_count,
            "deleted": self.deleted,
            "version": self.version,
        }


@dataclass
class Chat:
    id: int
    user: dict
    messages: list[Message] = field(default_factory=list)
    next_message_id: int = 1
    version: int = 0  # last change of any kind
    bot_version: int = 0  # last change made by the bot (send, edit, delete, answer)
    action: dict | None = None
    answers: list[dict] = field(default_factory=list)
    sends: collections.deque = field(default_factory=collections.deque)

    def api_chat(self) -> dict:
        chat = {"id": self.id, "type": "private", "first_name": self.user.get("first_name", "")}
        for key in ("last_name", "username"):
            if self.user.get(key):
                chat[key] = self.user[key]
        return chat

    def find(self, message_id: int) -> Message | None:
        for m in self.messages:
            if m.message_id == message_id and not m.deleted:
                return m
        return None


class EmulatorState:
    """Everything the emulator knows. Mutate only on the server's event loop (the HTTP handlers);
    other threads may read snapshots (e.g. `state.chats[id].messages`) for inspection."""

    def __init__(
        self,
        token: str,
        bot_username: str,
        bot_name: str,
        rate_limit: RateLimit | None,
        webhook_retry_delays: tuple[float, ...],
        webhook_timeout: float = 30.0,
    ) -> None:
        self.token = token
        prefix = token.split(":", 1)[0]
        self.bot = {
            "id": int(prefix) if prefix.isdigit() else 1,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.rate_limit = rate_limit
        self.webhook_retry_delays = tuple(webhook_retry_delays)
        self.webhook_timeout = webhook_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._cond: asyncio.Condition | None = None
        # Set by the app: runs a Bot API call a webhook returned in its response body.
        self.on_webhook_reply = None
        self.page_user = {"id": 111111, "first_name": "Sam"}
        self.reset()

    def reset(self) -> None:
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, dict] = {}
        self.version = 0
        self.update_id = 100_000
        self.pending: list[dict] = []  # updates waiting for getUpdates or for a webhook worker
        self.webhook: dict | None = None
        self.allowed_updates: list[str] = []  # empty: every kind
        self.last_error: tuple[int, str] | None = None
        self.deliveries: list[dict] = []
        self.commands: dict[str, list] = {}
        self.descriptions: dict[str, str] = {}  # by language code ("" = default)
        self.callback_queries: dict[str, dict] = {}
        self.closing = False
        self._workers: dict[int, asyncio.Task] = {}
        self._generation = getattr(self, "_generation", 0) + 1  # stale workers see a new one

    # --- change notification -------------------------------------------------------------

    def condition(self) -> asyncio.Condition:
        # A Condition binds to the loop that first uses it; the server loop may differ per run.
        loop = asyncio.get_running_loop()
        if self._cond is None or self._loop is not loop:
            self._loop, self._cond = loop, asyncio.Condition()
        return self._cond

    async def notify(self) -> None:
        cond = self.condition()
        async with cond:
            cond.notify_all()

    async def wait_until(self, predicate, timeout: float) -> bool:
        """Wait (without polling) until predicate() holds, the timeout passes or we shut down."""
        cond = self.condition()
        async with cond:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    cond.wait_for(lambda: self.closing or predicate()), max(timeout, 0)
                )
            return predicate()

    def shutdown(self) -> None:
        """Release every long-poll now, from any thread, so the server can stop promptly."""
        self.closing = True
        loop = self._loop
        if loop is not None and loop.is_running():
            # The loop may be stopping already; then nobody is waiting anyway.
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self.notify(), loop).result(5)

    def bump(self, chat: Chat, *, by_bot: bool, message: Message | None = None) -> None:
        self.version += 1
        chat.version = self.version
        if by_bot:
            chat.bot_version = self.version
        if message is not None:
            message.version = self.version

    # --- chats and messages --------------------------------------------------------------

    def chat(self, chat_id: Any) -> Chat:
        try:
            chat = self.chats.get(int(chat_id))
        except (TypeError, ValueError):
            chat = None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def ensure_chat(self, chat_id: int, user: dict) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = self.chats[chat_id] = Chat(id=chat_id, user=user)
        else:
            chat.user = user
        return chat

    def add_message(self, chat: Chat, *, from_bot: bool, sender: dict, **fields) -> Message:
        msg = Message(chat.next_message_id, chat.id, from_bot, sender, int(time.time()), **fields)
        chat.next_message_id += 1
        chat.messages.append(msg)
        self.bump(chat, by_bot=from_bot, message=msg)
        return msg

    def check_rate(self, chat: Chat) -> None:
        """Count one send/edit against the chat's window, or refuse it with 429."""
        limit = self.rate_limit
        if limit is None:
            return
        now = time.monotonic()
        while chat.sends and chat.sends[0] <= now - limit.window:
            chat.sends.popleft()
        if len(chat.sends) >= limit.max_calls:
            wait = limit.retry_after or max(1, math.ceil(chat.sends[0] + limit.window - now))
            raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        chat.sends.append(now)

    # --- updates -------------------------------------------------------------------------

    async def push_update(self, kind: str, obj: dict, chat_id: int) -> dict:
        self.update_id += 1
        update = {"update_id": self.update_id, kind: obj}
        if self.allowed_updates and kind not in self.allowed_updates:
            return update  # Telegram does not keep kinds the bot said it does not want
        self.pending.append(update)
        if self.webhook:
            self._start_worker(chat_id)
        await self.notify()
        return update

    def set_webhook(self, config: dict | None, drop_pending: bool) -> None:
        if drop_pending:
            self.pending.clear()
        self.webhook = config
        self.last_error = None
        if config:
            for chat_id in {_chat_of(u) for u in self.pending}:
                self._start_worker(chat_id)

    def _start_worker(self, chat_id: int) -> None:
        if chat_id not in self._workers:
            self._workers[chat_id] = asyncio.get_running_loop().create_task(
                self._deliver_chat(chat_id, self._generation)
            )

    async def _deliver_chat(self, chat_id: int, generation: int) -> None:
        """Deliver this chat's pending updates one at a time, in order, like Telegram does."""
        async with httpx.AsyncClient(trust_env=False, timeout=self.webhook_timeout) as client:
            while True:
                update = None
                if generation == self._generation and self.webhook and not self.closing:
                    update = next((u for u in self.pending if _chat_of(u) == chat_id), None)
                if update is None:
                    # Deregister before any await, so the next update starts a fresh worker.
                    if self._workers.get(chat_id) is asyncio.current_task():
                        del self._workers[chat_id]
                    return
                if await self._deliver_one(client, chat_id, update, generation) == "stopped":
                    continue  # webhook removed or reset: the update stays for getUpdates
                if update in self.pending:
                    self.pending.remove(update)  # delivered or given up: either way it leaves
                await self.notify()

    async def _deliver_one(self, client, chat_id: int, update: dict, generation: int) -> str:
        delays = self.webhook_retry_delays
        for attempt in range(1, len(delays) + 2):
            hook = self.webhook
            if hook is None or generation != self._generation or self.closing:
                return "stopped"
            headers = {}
            if hook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
            record = {
                "update_id": update["update_id"],
                "chat_id": chat_id,
                "url": hook["url"],
                "attempt": attempt,
                "status_code": None,
                "error": None,
                "ok": False,
                "gave_up": False,
                "at": time.time(),
            }
            resp = None
            try:
                resp = await client.post(hook["url"], json=update, headers=headers)
                record["status_code"] = resp.status_code
                record["ok"] = 200 <= resp.status_code < 300
                if not record["ok"]:
                    record["error"] = f"Wrong response from the webhook: {resp.status_code}"
            except httpx.HTTPError as exc:
                record["error"] = f"{type(exc).__name__}: {exc}"
            record["gave_up"] = not record["ok"] and attempt > len(delays)
            self.deliveries.append(record)
            if record["ok"]:
                await self._webhook_reply(resp)
                return "delivered"
            self.last_error = (int(time.time()), record["error"])
            await self.notify()
            if record["gave_up"]:
                return "gave_up"
            await asyncio.sleep(delays[attempt - 1])
        return "gave_up"

    async def _webhook_reply(self, resp: httpx.Response) -> None:
        # A webhook may answer with a Bot API call in its response body; Telegram executes it.
        if self.on_webhook_reply is None or "json" not in resp.headers.get("content-type", ""):
            return
        try:
            body = resp.json()
        except ValueError:
            return
        if isinstance(body, dict) and isinstance(body.get("method"), str):
            with contextlib.suppress(ApiError):
                await self.on_webhook_reply(body.pop("method"), body)

    def webhook_info(self) -> dict:
        hook = self.webhook or {}
        info = {
            "url": hook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending),
        }
        if hook:
            info["max_connections"] = hook.get("max_connections", 40)
            if self.allowed_updates:
                info["allowed_updates"] = self.allowed_updates
        if self.last_error and hook:
            info["last_error_date"], info["last_error_message"] = self.last_error
        return info


def _chat_of(update: dict) -> int:
    if "message" in update:
        return update["message"]["chat"]["id"]
    return update["callback_query"]["message"]["chat"]["id"]
