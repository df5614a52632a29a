"""What Telegram accepts as message content: text and caption rules, inline keyboards, images."""

from __future__ import annotations

import struct
from typing import Any

from local.telegram_html import HtmlParseError, detect_entities, parse_html, strip_text
from local.telegram_state import bad_request

_OTHER_BUTTONS = [
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "web_app",
    "copy_text",
]


def format_text(
    value: Any, mode: str | None, entities: Any, limit: int, *, caption: bool = False
) -> tuple[str, list[dict]]:
    """(text, entities) as Telegram stores them: parsed, trimmed, checked, links detected."""
    raw = "" if value is None else str(value)
    if mode:
        if str(mode).lower() == "html":
            try:
                text, entities = parse_html(raw)
            except HtmlParseError as exc:
                raise bad_request(f"can't parse entities: {exc}") from None
        elif str(mode).lower() in ("markdown", "markdownv2"):
            text, entities = raw, []  # not emulated: Shipit formats with HTML
        else:
            raise bad_request(f"unsupported parse_mode {mode!r}")
    else:
        text, entities = raw, entities or []
        if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
            raise bad_request("can't parse entities JSON object")
    text, entities = strip_text(text, entities)
    if not text and not caption:
        raise bad_request("message text is empty")
    if len(text) > limit:
        raise bad_request("message caption is too long" if caption else "message is too long")
    return text, detect_entities(text, entities)


def inline_keyboard(markup: Any) -> dict | None:
    """Validate a decoded reply_markup; return the inline keyboard to echo (only those are)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return None
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request('field "inline_keyboard" must be an Array of Arrays')
    for button in (b for row in rows for b in row):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise bad_request("can't parse inline keyboard button: Text must be a String")
        if not button["text"]:
            raise bad_request("BUTTON_TEXT_INVALID")
        if button.get("style") not in (None, "primary", "success", "danger"):
            raise bad_request("BUTTON_STYLE_INVALID")
        if "callback_data" in button:
            # The limit is in bytes, and PTB does not check it: the server is the only guard.
            if not 1 <= len(str(button["callback_data"]).encode("utf-8")) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
        elif "url" in button:
            if not str(button["url"]).strip():
                raise bad_request("BUTTON_URL_INVALID")
        elif not any(k in button for k in _OTHER_BUTTONS):
            raise bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in the inline "
                "keyboard"
            )
    return {"inline_keyboard": rows} if any(rows) else None


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, GIF or JPEG; (0, 0) if it is none of them."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return width, height
            i += 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
    return 0, 0
