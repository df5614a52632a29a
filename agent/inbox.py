"""The chat inbox: takes a chat's updates in the order Telegram sent them, whatever order they arrive.

Why it exists: the relay hands every update to its own durable execution (relay/lifecycle.py),
and two executions started milliseconds apart reach this agent in either order. Telegram
delivers a chat's updates one at a time, waiting for the relay's answer before sending the next,
so the relay knows the order; it writes each update to this S3 prefix (`<chat>/<received
ms>-<update id>.json`) *before* answering Telegram. So when update N+1 reaches the agent,
update N's entry is already readable (S3 is strongly consistent), and the agent takes every
entry of the chat up to and including the delivered one, oldest first. N's own delivery, when
it arrives, is then a duplicate (answered as such by the router). Entries are deleted once
taken; a bucket lifecycle rule removes any left behind after a day.

The inbox only orders: every delivery also carries its update, so if S3 cannot be read the
delivered update is still taken (in arrival order), never lost.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


def chat_prefix(chat_id: int) -> str:
    return f"{chat_id}/"


def due_keys(keys: list[str], delivered: str) -> list[str]:
    """The entries to take before (and with) `delivered`: those not after it, oldest first.

    Keys of one chat sort by the relay's receive time, then the update id (both zero-padded),
    which is Telegram's order for that chat.
    """
    return sorted(k for k in keys if k <= delivered)


def belongs(chat_id: int, key: object) -> bool:
    """Whether `key` is an inbox key of this chat (a delivery names one; it is not trusted)."""
    return isinstance(key, str) and key.startswith(chat_prefix(chat_id)) and ".." not in key


class InboxUnavailable(Exception):
    """S3 could not list or read the chat's inbox; the delivered update is taken alone."""

    def __init__(self, chat_id: int, cause: Exception) -> None:
        super().__init__(f"inbox of chat {chat_id}: {cause}")
        self.chat_id, self.cause = chat_id, cause


@dataclass
class Inbox:
    """The bucket the relay writes to; `s3` is a boto3 S3 client (passed in)."""

    bucket: str
    s3: object

    def due(self, chat_id: int, delivered: str) -> list[tuple[str, dict]]:
        """(key, update) for every entry of the chat before `delivered`, oldest first (the
        delivered update came with its delivery: its own entry is not read again)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            keys: list[str] = []
            pages = self.s3.get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self.bucket, Prefix=chat_prefix(chat_id)):
                keys += [item["Key"] for item in page.get("Contents", [])]
            taken = []
            for key in due_keys(keys, delivered):
                if key == delivered:
                    continue
                body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                update = json.loads(body)
                if isinstance(update, dict):
                    taken.append((key, update))
            return taken
        except (BotoCoreError, ClientError, ValueError) as exc:
            raise InboxUnavailable(chat_id, exc) from exc

    def forget(self, keys: list[str]) -> None:
        """Delete taken entries; a failure only leaves them for the lifecycle rule."""
        from botocore.exceptions import BotoCoreError, ClientError

        for key in keys:
            try:
                self.s3.delete_object(Bucket=self.bucket, Key=key)
            except (BotoCoreError, ClientError) as exc:
                log.warning("inbox entry %s not deleted: %s", key, exc)
