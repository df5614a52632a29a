"""A synchronous client for the Telegram emulator's test API (see local/telegram_emulator.py)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import httpx

Messages = list[dict]


class EmulatorTimeout(AssertionError):
    """A wait ran out; the message carries the chat transcript so a failing test explains itself."""


class EmulatorError(RuntimeError):
    """The emulator refused a test API call (bad chat, no such button, ...)."""


def format_transcript(messages: Messages) -> str:
    lines = []
    for m in messages:
        who = "bot" if m["from_bot"] else f"user {m['sender_id']}"
        flags = f" (edited x{m['edit_count']})" if m["edit_count"] else ""
        flags += " (deleted)" if m.get("deleted") else ""
        photo = " [photo]" if m["kind"] == "photo" else ""
        lines.append(f"#{m['message_id']} {who}{flags}{photo}: {m['text']}")
        for row in m["buttons"]:
            lines.append("    [" + "] [".join(b["text"] for b in row) + "]")
    return "\n".join(lines) or "(no messages)"


class EmulatorClient:
    """Drive the emulator as the person in the chat, and wait on events instead of sleeping."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        # trust_env=False: a proxy from the environment must never see loopback traffic.
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, trust_env=False)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EmulatorClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, method: str, path: str, *, timeout: float | None = None, **kw) -> dict:
        extra = {} if timeout is None else {"timeout": timeout}
        resp = self._http.request(method, path, **kw, **extra)
        if resp.status_code >= 400:
            raise EmulatorError(f"{method} {path} → {resp.status_code}: {resp.text}")
        return resp.json()

    # --- setup ---------------------------------------------------------------------------

    def info(self) -> dict:
        return self._call("GET", "/_emulator/info")

    def reset(self) -> None:
        self._call("POST", "/_emulator/reset")

    def configure(self, **settings) -> dict:
        """rate_limit={"max_calls", "window", "retry_after"} or None, webhook_retry_delays=[...],
        page_user={"id", "first_name"}."""
        return self._call("POST", "/_emulator/config", json=settings)

    # --- acting as the person ------------------------------------------------------------

    def send_text(
        self, chat_id: int, text: str, *, user_id: int | None = None, first_name: str | None = None
    ) -> dict:
        """The person writes `text`; returns {"update", "message", "cursor"}."""
        body = {"text": text, "user_id": user_id or chat_id, "first_name": first_name}
        return self._call("POST", f"/_emulator/chats/{chat_id}/messages", json=body)

    def send_photo(
        self,
        chat_id: int,
        photo: bytes,
        caption: str | None = None,
        *,
        media_group_id: str | None = None,
        user_id: int | None = None,
    ) -> dict:
        """The person sends a photo (one member of an album when media_group_id is given)."""
        body = {
            "photo_b64": base64.b64encode(photo).decode("ascii"),
            "caption": caption,
            "media_group_id": media_group_id,
            "user_id": user_id or chat_id,
        }
        return self._call("POST", f"/_emulator/chats/{chat_id}/photos", json=body)

    def file_bytes(self, photo_url: str) -> bytes:
        """The bytes behind a message's photo_url (a picture the bot sent)."""
        resp = self._http.get(photo_url)
        if resp.status_code != 200:
            raise EmulatorError(f"GET {photo_url} → {resp.status_code}")
        return resp.content

    def press_button(
        self,
        chat_id: int,
        message_id: int,
        callback_data: str | None = None,
        *,
        text: str | None = None,
        user_id: int | None = None,
    ) -> dict:
        """Tap an inline button, chosen by its callback_data or its label; returns the update."""
        body = {
            "message_id": message_id,
            "callback_data": callback_data,
            "button_text": text,
            "user_id": user_id or chat_id,
        }
        return self._call("POST", f"/_emulator/chats/{chat_id}/callbacks", json=body)

    # --- looking ------------------------------------------------------------------------

    def chat(self, chat_id: int, include_deleted: bool = False) -> dict:
        """{"cursor", "messages", "action", "answers"} for the chat."""
        params = {"include_deleted": "1"} if include_deleted else {}
        return self._call("GET", f"/_emulator/chats/{chat_id}/messages", params=params)

    def messages(self, chat_id: int) -> Messages:
        return self.chat(chat_id)["messages"]

    def bot_messages(self, chat_id: int) -> Messages:
        return [m for m in self.messages(chat_id) if m["from_bot"]]

    def transcript(self, chat_id: int) -> str:
        return format_transcript(self.messages(chat_id))

    def deliveries(self, after: int = -1, timeout: float = 0) -> list[dict]:
        """Webhook delivery attempts; with a timeout, wait until there are more than `after`."""
        params = {"after": after, "timeout": timeout}
        return self._call("GET", "/_emulator/deliveries", params=params, timeout=timeout + 10)[
            "deliveries"
        ]

    # --- waiting ------------------------------------------------------------------------

    def wait_for(
        self,
        chat_id: int,
        predicate: Callable[[Messages], object],
        timeout: float = 10.0,
        *,
        any_change: bool = False,
    ) -> Messages:
        """Block until predicate(messages) is truthy; long-polls, so it wakes on each bot change.

        Raises EmulatorTimeout with the transcript when `timeout` seconds pass first.
        """
        deadline = time.monotonic() + timeout
        body = self.chat(chat_id)
        while True:
            if predicate(body["messages"]):
                return body["messages"]
            left = deadline - time.monotonic()
            if left <= 0:
                raise EmulatorTimeout(
                    f"chat {chat_id}: condition not met within {timeout}s. Transcript:\n"
                    + format_transcript(body["messages"])
                )
            params = {
                "after": body["cursor"],
                "timeout": round(min(left, 30), 3),
                "from": "any" if any_change else "bot",
            }
            body = self._call(
                "GET", f"/_emulator/chats/{chat_id}/wait", params=params, timeout=left + 10
            )

    def wait_for_text(self, chat_id: int, contains: str, timeout: float = 10.0) -> dict:
        """The first bot message whose visible text contains `contains` (after edits)."""

        def match(messages: Messages) -> dict | None:
            return next(
                (m for m in messages if m["from_bot"] and contains in (m["text"] or "")), None
            )

        return match(self.wait_for(chat_id, match, timeout))

    def wait_deliveries(self, count: int, timeout: float = 10.0) -> list[dict]:
        """Wait until at least `count` webhook delivery attempts were made."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.deliveries(after=count - 1, timeout=max(deadline - time.monotonic(), 0))
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise EmulatorTimeout(f"{len(found)} of {count} webhook deliveries: {found}")
