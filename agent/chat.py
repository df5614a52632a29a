"""Telegram out: messages, buttons and the live status card, through python-telegram-bot."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    LinkPreviewOptions,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, RetryAfter

from agent.messages import TEXT_LIMIT

log = logging.getLogger(__name__)

# (label, callback_data) or (label, callback_data, style), one button per row. Styles (Bot API
# 9.4): "success" for the positive action, "danger" for destructive ones, "primary".
Buttons = list[tuple[str, ...]]


def _markup(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data, style=(rest[0] if rest else None))]
            for label, data, *rest in buttons
        ]
    )


def _plain(html_text: str) -> str:
    """Fallback when Telegram cannot parse our HTML: strip tags, keep the words and links."""
    import html

    text = re.sub(r'<a href="([^"]*)">([^<]*)</a>', r"\2 (\1)", html_text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def retry_seconds(exc: RetryAfter) -> float:
    """PTB gives retry_after as int seconds or a timedelta, depending on its settings."""
    value = exc.retry_after
    return float(value.total_seconds() if hasattr(value, "total_seconds") else value)


def _parse_error(exc: BadRequest) -> bool:
    return "can't parse entities" in exc.message.lower()


class Chat:
    """Sends and edits messages; honours Telegram's flood limits instead of failing."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(
        self,
        chat_id: int,
        html_text: str,
        buttons: Buttons | None = None,
        link_preview: str | None = None,
    ) -> int:
        """Send one message (split if over Telegram's limit); returns the last message id.

        `link_preview` names the page to show as a rich link preview; otherwise none is shown."""
        chunks = _split(html_text)
        message_id = 0
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            markup = _markup(buttons) if last else None
            preview = LinkPreviewOptions(is_disabled=True)
            if link_preview and last:
                preview = LinkPreviewOptions(url=link_preview, prefer_large_media=True)
            message = await self._call(
                self.bot.send_message,
                chat_id=chat_id,
                text=chunk,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=preview,
            )
            message_id = message.message_id
        return message_id

    async def edit(
        self, chat_id: int, message_id: int, html_text: str, buttons: Buttons | None = None
    ) -> None:
        try:
            await self._call(
                self.bot.edit_message_text,
                chat_id=chat_id,
                message_id=message_id,
                text=_split(html_text)[0],
                parse_mode=ParseMode.HTML,
                reply_markup=_markup(buttons),
                disable_web_page_preview=True,
            )
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise

    async def drop_buttons(self, chat_id: int, message_id: int) -> None:
        # Already gone, or the message is too old to edit: nothing to do.
        with contextlib.suppress(BadRequest):
            await self._call(
                self.bot.edit_message_reply_markup, chat_id=chat_id, message_id=message_id
            )

    async def answer_button(self, callback_query_id: str, text: str | None = None) -> None:
        # The button press may be older than Telegram keeps it; the reply still goes out.
        with contextlib.suppress(BadRequest):
            await self.bot.answer_callback_query(callback_query_id, text=text)

    async def send_photos(self, chat_id: int, photos: list[tuple[bytes, str]]) -> list[int]:
        """One picture as a photo, several as one album (captions are plain text)."""
        if len(photos) == 1:
            data, caption = photos[0]
            message = await self._call(
                self.bot.send_photo, chat_id=chat_id, photo=data, caption=caption
            )
            return [message.message_id]
        media = [
            InputMediaPhoto(data, caption=caption, filename=f"shot{i}.png")
            for i, (data, caption) in enumerate(photos)
        ]
        messages = await self._call(self.bot.send_media_group, chat_id=chat_id, media=media)
        return [m.message_id for m in messages]

    async def download(self, file_id: str) -> tuple[bytes, str]:
        """A file someone sent (a photo): its bytes and Telegram's path for it."""
        file = await self.bot.get_file(file_id)
        return bytes(await file.download_as_bytearray()), file.file_path or ""

    async def typing(self, chat_id: int) -> None:
        with contextlib.suppress(BadRequest, RetryAfter):
            await self.bot.send_chat_action(chat_id, "typing")

    async def _call(self, method, **kwargs):
        """Call a Bot API method; wait out one RetryAfter; fall back to plain text on bad HTML."""
        for attempt in range(2):
            try:
                return await method(**kwargs)
            except RetryAfter as exc:
                if attempt:
                    raise
                delay = retry_seconds(exc)
                log.warning("Telegram asked us to wait %s s", delay)
                await asyncio.sleep(delay)
            except BadRequest as exc:
                if not _parse_error(exc) or kwargs.get("parse_mode") is None:
                    raise
                kwargs["text"] = _plain(kwargs["text"])
                kwargs["parse_mode"] = None
        raise AssertionError("unreachable")


def _split(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split on line breaks before formatting breaks: never cut through a tag."""
    if len(text) <= limit:
        return [text]
    chunks, current = [], ""
    for line in text.split("\n"):
        while len(line) > limit:  # a single huge line: cut it plainly
            chunks.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) + 1 > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


class StatusCard:
    """One message showing the phases of a request, edited in place at a polite rate."""

    def __init__(self, chat: Chat, chat_id: int, render, min_interval_s: float) -> None:
        self.chat = chat
        self.chat_id = chat_id
        self.render = render  # () -> (html, buttons)
        self.min_interval_s = min_interval_s
        self.message_id: int | None = None
        self._last_edit = 0.0
        self._quiet_until = 0.0
        self.started = time.monotonic()

    async def show(self) -> None:
        text, buttons = self.render()
        self.message_id = await self.chat.send(self.chat_id, text, buttons)
        self._last_edit = time.monotonic()

    async def refresh(self, force: bool = False) -> None:
        """Edit the card unless we edited very recently (Telegram rate-limits bursts of edits)."""
        if self.message_id is None:
            return
        now = time.monotonic()
        if now < self._quiet_until or (not force and now - self._last_edit < self.min_interval_s):
            return
        text, buttons = self.render()
        try:
            await self.chat.edit(self.chat_id, self.message_id, text, buttons)
            self._last_edit = time.monotonic()
        except RetryAfter as exc:
            self._quiet_until = now + retry_seconds(exc)
        except BadRequest as exc:
            log.warning("status card edit failed: %s", exc.message)
