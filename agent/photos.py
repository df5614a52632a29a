"""Photos in: a requester's picture (or album) becomes one request that Claude sees as images.

Telegram sends each photo of an album as its own update with a shared media_group_id and no
"album complete" signal, so the album's first update waits until no member has arrived for
ALBUM_QUIET_S; the later members join it instead of becoming requests of their own.
The pictures are kept in the chat's folder (photos/) beside its transcript.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from telegram import Message, Update

ALBUM_QUIET_S = 1.5

# What Claude is told when the photo comes without words.
NO_WORDS_WITH_PREVIEW = (
    "The requester sent the picture(s) below without words, while the preview of your last "
    "change is waiting. Take it as feedback on that preview: work out what they want changed "
    "from the picture, and change it; if you can't tell, ask them one short question."
)
NO_WORDS = (
    "The requester sent the picture(s) below without words. Work out from the picture what "
    "they want changed in the app and change it; if you can't tell, ask one short question."
)
WITH_WORDS = "The requester attached the picture(s) below to this request."


def media_type(data: bytes) -> str:
    """The image's MIME type from its first bytes (what the Messages API wants to be told)."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


def request_text(caption: str) -> str:
    """What the status card and history call a photo request."""
    return caption.strip() or "📷 (a photo)"


def model_text(caption: str, waiting_preview: bool) -> str:
    if caption.strip():
        return f"{caption.strip()}\n\n{WITH_WORDS}"
    return NO_WORDS_WITH_PREVIEW if waiting_preview else NO_WORDS


class ImagePrompt:
    """A prompt with pictures, in the SDK's streaming-input form (one user message of content
    blocks). Iterable more than once: the coder may retry a run without its stored session."""

    def __init__(self, text: str, images: list[Path]) -> None:
        self.text = text
        self.images = list(images)

    def content(self) -> list[dict]:
        blocks: list[dict] = [{"type": "text", "text": self.text}]
        for path in self.images:
            data = path.read_bytes()
            source = {
                "type": "base64",
                "media_type": media_type(data),
                "data": base64.b64encode(data).decode("ascii"),
            }
            blocks.append({"type": "image", "source": source})
        return blocks

    async def _messages(self) -> AsyncIterator[dict]:
        yield {
            "type": "user",
            "session_id": "",
            "message": {"role": "user", "content": self.content()},
            "parent_tool_use_id": None,
        }

    def __aiter__(self) -> AsyncIterator[dict]:
        return self._messages()

    def __str__(self) -> str:  # for logs and anything that shows the prompt as text
        return f"{self.text} [+{len(self.images)} picture(s)]"


@dataclass
class _Album:
    messages: list[Message] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


class Albums:
    """Gathers the photos of one album into the request its first photo starts."""

    def __init__(self, quiet_s: float = ALBUM_QUIET_S) -> None:
        self.quiet_s = quiet_s
        self.open: dict[tuple[int, str], _Album] = {}

    def absorb(self, update: Update) -> bool:
        """True when `update` is a later member of an open album (it joins that request)."""
        message = update.message
        if message is None or not message.media_group_id or update.effective_chat is None:
            return False
        key = (update.effective_chat.id, message.media_group_id)
        album = self.open.get(key)
        if album is None:
            self.open[key] = _Album([message])
            return False
        if all(m.message_id != message.message_id for m in album.messages):  # not a retry
            album.messages.append(message)
            album.arrived.set()
        return True

    async def collect(self, message: Message) -> list[Message]:
        """All photos of `message`'s album, once none has arrived for quiet_s."""
        key = (message.chat_id, message.media_group_id or "")
        album = self.open.get(key)
        if album is None:
            return [message]
        while True:
            album.arrived.clear()
            try:
                await asyncio.wait_for(album.arrived.wait(), self.quiet_s)
            except TimeoutError:
                break
        del self.open[key]
        return sorted(album.messages, key=lambda m: m.message_id)


async def receive(chat, albums: Albums, message: Message, folder: Path) -> tuple[str, list[Path]]:
    """Wait for the rest of the album, download each photo's largest size into `folder`;
    returns the caption (the first one given) and the saved files."""
    messages = await albums.collect(message) if message.media_group_id else [message]
    folder.mkdir(parents=True, exist_ok=True)
    paths, caption = [], ""
    for m in messages:
        caption = caption or (m.caption or "")
        if not m.photo:
            continue
        data, _path = await chat.download(max(m.photo, key=lambda s: s.width * s.height).file_id)
        path = folder / f"{m.message_id}{_suffix(media_type(data))}"
        path.write_bytes(data)
        paths.append(path)
    return caption, paths


def _suffix(mime: str) -> str:
    return {"image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}.get(mime, ".jpg")
