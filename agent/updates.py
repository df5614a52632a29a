"""What kind of Telegram update arrived, read from the raw JSON without trusting any field's type.

Pure (no I/O). Telegram's types are not checked by python-telegram-bot's parser, so routing is
decided here first: a `text` that is not a string, a group chat, an edit or a membership change
each get their own kind instead of a traceback deep in the journey.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Kind(Enum):
    TEXT = "text"  # a typed (or forwarded) text message
    BUTTON = "button"  # an inline button was pressed
    MEDIA = "media"  # photo, voice, document, sticker, location…: see `Incoming.media`
    EDITED = "edited"  # the person edited an earlier message
    MEMBERSHIP = "membership"  # the bot was blocked/unblocked or added/removed: stay silent
    GROUP = "group"  # anything from a group, supergroup or channel
    MALFORMED = "malformed"  # a chat we can answer, but fields we cannot read
    IGNORED = "ignored"  # nothing to answer: no chat, or a kind we never asked for


# The message fields that carry something other than text, in the words the reply uses.
MEDIA_FIELDS = {
    "photo": "photo",
    "voice": "voice message",
    "video_note": "video message",
    "video": "video",
    "audio": "audio file",
    "animation": "GIF",
    "document": "file",
    "sticker": "sticker",
    "location": "location",
    "venue": "location",
    "contact": "contact",
    "poll": "poll",
    "dice": "dice",
    "story": "story",
}
_SERVICE_FIELDS = (
    "pinned_message", "new_chat_title", "new_chat_photo", "delete_chat_photo",
    "message_auto_delete_timer_changed", "chat_background_set", "write_access_allowed",
    "new_chat_members", "left_chat_member",
)  # fmt: skip
_FORWARD_FIELDS = ("forward_origin", "forward_from", "forward_from_chat", "forward_date")


@dataclass(frozen=True)
class Incoming:
    """One update, reduced to what routing needs."""

    kind: Kind
    update_id: int | None
    chat_id: int | None = None
    text: str = ""
    forwarded: bool = False
    media: str = ""  # for MEDIA: which kind, in words ("photo", "voice message")
    caption: str = ""
    callback_id: str | None = None
    callback_data: str = ""
    first_name: str = ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _chat(message: dict) -> tuple[int | None, str]:
    chat = _dict(message.get("chat"))
    return _int(chat.get("id")), chat.get("type") if isinstance(chat.get("type"), str) else ""


def _name(obj: dict) -> str:
    name = _dict(obj.get("from")).get("first_name")
    return name if isinstance(name, str) else ""


def classify(data: Any) -> Incoming:
    """Decide what an update is; never raises, whatever `data` holds."""
    if not isinstance(data, dict):
        return Incoming(Kind.IGNORED, None)
    update_id = _int(data.get("update_id"))
    if "my_chat_member" in data or "chat_member" in data:
        return Incoming(Kind.MEMBERSHIP, update_id)
    if "callback_query" in data:
        return _button(update_id, data["callback_query"])
    for key, kind in (("message", None), ("edited_message", Kind.EDITED)):
        if key in data:
            return _message(update_id, data[key], kind)
    return Incoming(Kind.IGNORED, update_id)  # channel posts, inline queries…: never asked for


def _button(update_id: int | None, query: Any) -> Incoming:
    query = _dict(query)
    chat_id, chat_type = _chat(_dict(query.get("message")))
    callback_id = query.get("id") if isinstance(query.get("id"), str) else None
    if chat_id is None:
        return Incoming(Kind.IGNORED, update_id)
    if update_id is None or callback_id is None:
        return Incoming(Kind.MALFORMED, update_id, chat_id)
    kind = Kind.GROUP if chat_type not in ("", "private") else Kind.BUTTON
    data = query.get("data")
    return Incoming(
        kind,
        update_id,
        chat_id,
        callback_id=callback_id,
        # Non-string data is treated as unknown data: still answered, never trusted.
        callback_data=data if isinstance(data, str) else "",
        first_name=_name(query),
    )


def _message(update_id: int | None, message: Any, kind: Kind | None) -> Incoming:
    message = _dict(message)
    chat_id, chat_type = _chat(message)
    if chat_id is None:
        return Incoming(Kind.IGNORED, update_id)
    if update_id is None:
        return Incoming(Kind.MALFORMED, None, chat_id)
    if chat_type not in ("", "private"):
        return Incoming(Kind.GROUP, update_id, chat_id)
    name = _name(message)
    if kind is Kind.EDITED:
        return Incoming(Kind.EDITED, update_id, chat_id, first_name=name)
    forwarded = any(f in message for f in _FORWARD_FIELDS)
    if "text" in message:
        text = message["text"]
        if not isinstance(text, str):
            return Incoming(Kind.MALFORMED, update_id, chat_id)
        return Incoming(Kind.TEXT, update_id, chat_id, text, forwarded, first_name=name)
    for field, words in MEDIA_FIELDS.items():
        if field in message:
            caption = message.get("caption")
            return Incoming(
                Kind.MEDIA,
                update_id,
                chat_id,
                forwarded=forwarded,
                media=words,
                caption=caption if isinstance(caption, str) else "",
                first_name=name,
            )
    if any(f in message for f in _SERVICE_FIELDS):
        return Incoming(Kind.IGNORED, update_id, chat_id)  # the person asked nothing
    # Content we have no name for yet still gets the plain "text only" answer.
    return Incoming(Kind.MEDIA, update_id, chat_id, forwarded=forwarded, first_name=name)
