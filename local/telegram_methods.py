"""The Bot API methods the emulator implements, validated the way Telegram validates them."""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any, NamedTuple

from local.telegram_content import format_text, image_size, inline_keyboard
from local.telegram_state import ApiError, Chat, EmulatorState, Message, bad_request

TEXT_LIMIT, CAPTION_LIMIT, PHOTO_LIMIT = 4096, 1024, 10 * 1024 * 1024
_CHAT_ACTIONS = set(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)


class Upload(NamedTuple):
    """A file part of a multipart request."""

    filename: str
    content: bytes
    content_type: str


# --- parameter helpers: PTB sends form fields with JSON-encoded values, others send JSON bodies ---


def _json(p: dict, name: str, what: str | None = None) -> Any:
    value = p.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what or name} JSON object") from None
    return value


def _int(p: dict, name: str, missing: str | None = None, default: int | None = None) -> int | None:
    value = p.get(name)
    if value is None or value == "":
        if missing:
            raise bad_request(missing)
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name} specified") from None


def _bool(p: dict, name: str) -> bool:
    return p.get(name) in (True, 1, "true", "True", "1")


def _chat(state: EmulatorState, p: dict) -> Chat:
    if p.get("chat_id") in (None, ""):
        raise bad_request("chat_id is empty")
    return state.chat(p["chat_id"])


def _formatted(p: dict, key: str, entities_key: str, limit: int, caption: bool) -> tuple:
    """(text, entities, source, parse_mode) of a text or caption parameter."""
    mode = p.get("parse_mode") or None
    entities = None if mode else _json(p, entities_key, "entities")
    text, entities = format_text(p.get(key), mode, entities, limit, caption=caption)
    return text, entities, "" if p.get(key) is None else str(p[key]), mode


def _markup(p: dict) -> dict | None:
    return inline_keyboard(_json(p, "reply_markup", "reply keyboard markup"))


def _bot_message(chat: Chat, p: dict, verb: str) -> Message:
    if p.get("inline_message_id"):
        raise bad_request("inline messages are not emulated")
    message_id = _int(p, "message_id", "message identifier is not specified")
    msg = chat.find(message_id)
    if msg is None:
        raise bad_request(f"message to {verb} not found")
    if verb == "edit" and not msg.from_bot:
        raise bad_request("message can't be edited")
    return msg


# --- the methods: each takes (state, params) and returns the "result" value -------------------


async def get_me(state: EmulatorState, p: dict) -> dict:
    return {
        **state.bot,
        "can_join_groups": False,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


async def send_message(state: EmulatorState, p: dict) -> dict:
    chat = _chat(state, p)
    text, entities, source, mode = _formatted(p, "text", "entities", TEXT_LIMIT, caption=False)
    markup = _markup(p)
    link_preview = _json(p, "link_preview_options", "link preview options")
    if _bool(p, "disable_web_page_preview"):
        link_preview = {"is_disabled": True}
    state.check_rate(chat)
    msg = state.add_message(
        chat,
        from_bot=True,
        sender=state.bot,
        text=text,
        entities=entities,
        source=source,
        parse_mode=mode,
        reply_markup=markup,
        link_preview=link_preview,
    )
    chat.action = None  # a message ends the "typing…" status, as in the apps
    await state.notify()
    return msg.to_api(chat.api_chat())


async def edit_message_text(state: EmulatorState, p: dict) -> dict:
    chat = _chat(state, p)
    msg = _bot_message(chat, p, "edit")
    if msg.photo is not None:
        raise bad_request("there is no text in the message to edit")
    text, entities, source, mode = _formatted(p, "text", "entities", TEXT_LIMIT, caption=False)
    # No reply_markup in an edit removes the keyboard, as on Telegram.
    markup = _markup(p)
    if (text, entities, markup) == (msg.text, msg.entities, msg.reply_markup):
        raise bad_request(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )
    state.check_rate(chat)
    msg.text, msg.entities, msg.source, msg.parse_mode = text, entities, source, mode
    msg.reply_markup = markup
    return await _edited(state, chat, msg)


async def edit_message_reply_markup(state: EmulatorState, p: dict) -> dict:
    chat = _chat(state, p)
    msg = _bot_message(chat, p, "edit")
    markup = _markup(p)
    if markup == msg.reply_markup:
        raise bad_request(
            "message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        )
    state.check_rate(chat)
    msg.reply_markup = markup
    return await _edited(state, chat, msg)


async def _edited(state: EmulatorState, chat: Chat, msg: Message) -> dict:
    msg.edit_date = int(time.time())
    msg.edit_count += 1
    state.bump(chat, by_bot=True, message=msg)
    await state.notify()
    return msg.to_api(chat.api_chat())


async def delete_message(state: EmulatorState, p: dict) -> bool:
    chat = _chat(state, p)
    msg = _bot_message(chat, p, "delete")
    msg.deleted = True
    state.bump(chat, by_bot=True, message=msg)
    await state.notify()
    return True


async def send_chat_action(state: EmulatorState, p: dict) -> bool:
    chat = _chat(state, p)
    action = p.get("action")
    if action not in _CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    # Telegram shows the status for 5 s or until the bot's next message.
    chat.action = {"action": action, "until": time.time() + 5}
    state.bump(chat, by_bot=False)
    await state.notify()
    return True


async def send_photo(state: EmulatorState, p: dict) -> dict:
    chat = _chat(state, p)
    file = _photo_file(state, p.get("photo"))
    caption, entities, source, mode = _formatted(
        p, "caption", "caption_entities", CAPTION_LIMIT, caption=True
    )
    markup = _markup(p)
    state.check_rate(chat)
    msg = _add_photo(state, chat, file, caption, entities, source, mode, markup)
    chat.action = None
    await state.notify()
    return msg.to_api(chat.api_chat())


async def send_media_group(state: EmulatorState, p: dict) -> list:
    """An album: 2–10 photos sent at once, each its own message sharing a media_group_id."""
    chat = _chat(state, p)
    media = _json(p, "media", "media")
    if not isinstance(media, list) or not 2 <= len(media) <= 10:
        raise bad_request("wrong number of media items: an album holds 2 to 10")
    items = []
    for item in media:
        if not isinstance(item, dict) or item.get("type") != "photo":
            raise bad_request("only photo albums are emulated")
        ref = str(item.get("media") or "")
        # Uploaded parts are referenced as attach://<field name>, as multipart/form-data.
        source = p.get(ref.removeprefix("attach://")) if ref.startswith("attach://") else ref
        file = _photo_file(state, source)
        caption, entities, raw, mode = _formatted(
            item, "caption", "caption_entities", CAPTION_LIMIT, caption=True
        )
        items.append((file, caption, entities, raw, mode))
    state.check_rate(chat)
    group = str(secrets.randbits(60))
    messages = []
    for file, caption, entities, raw, mode in items:
        msg = _add_photo(state, chat, file, caption, entities, raw, mode, None)
        msg.media_group_id = group
        messages.append(msg.to_api(chat.api_chat()))
    chat.action = None
    await state.notify()
    return messages


def _add_photo(state, chat: Chat, file: dict, caption, entities, source, mode, markup) -> Message:
    size = {k: file[k] for k in ("file_id", "file_unique_id", "width", "height", "file_size")}
    return state.add_message(
        chat,
        from_bot=True,
        sender=state.bot,
        photo=[size],
        caption=caption,
        entities=entities,
        source=source,
        parse_mode=mode,
        reply_markup=markup,
    )


def _photo_file(state: EmulatorState, photo) -> dict:
    """The stored file a photo parameter names: an upload, a known file_id, or a URL."""
    if isinstance(photo, Upload):
        if len(photo.content) > PHOTO_LIMIT:
            raise ApiError(413, "Request Entity Too Large")
        width, height = image_size(photo.content)
        if not width:
            raise bad_request("IMAGE_PROCESS_FAILED")
        return store_file(state, photo.content, _image_type(photo), width, height)
    if isinstance(photo, str) and photo in state.files:
        return state.files[photo]
    if isinstance(photo, str) and re.match(r"^https?://", photo):
        # We cannot fetch it (no internet); keep the URL so the chat page can show it.
        return store_file(state, b"", "", 0, 0, remote_url=photo)
    raise bad_request(
        "there is no photo in the request"
        if not photo
        else "wrong file identifier/HTTP URL specified"
    )


def _image_type(upload: Upload) -> str:
    if upload.content.startswith(b"\x89PNG"):
        return "image/png"
    return upload.content_type if (upload.content_type or "").startswith("image/") else "image/jpeg"


def store_file(state, content: bytes, ctype: str, width: int, height: int, remote_url=None) -> dict:
    ext = {"image/png": "png", "image/gif": "gif"}.get(ctype, "jpg")
    file = {
        "file_id": "AgAC" + secrets.token_urlsafe(24),
        "file_unique_id": secrets.token_hex(8),
        "file_size": len(content),
        "width": width,
        "height": height,
        "content": content,
        "content_type": ctype,
        "file_path": f"photos/file_{len(state.files)}.{ext}",
        "remote_url": remote_url,
    }
    state.files[file["file_id"]] = file
    return file


async def get_file(state: EmulatorState, p: dict) -> dict:
    file = state.files.get(str(p.get("file_id") or ""))
    if file is None or file["remote_url"]:
        raise bad_request("invalid file_id")
    return {k: file[k] for k in ("file_id", "file_unique_id", "file_size", "file_path")}


async def answer_callback_query(state: EmulatorState, p: dict) -> bool:
    query = state.callback_queries.get(str(p.get("callback_query_id") or ""))
    if query is None or query["answered"]:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    query["answered"] = True
    chat = state.chats[query["chat_id"]]
    answer = {
        "callback_query_id": query["id"],
        "text": p.get("text") or "",
        "show_alert": _bool(p, "show_alert"),
        "url": p.get("url"),
    }
    chat.answers.append(answer)
    state.bump(chat, by_bot=True)
    answer["version"] = state.version
    await state.notify()
    return True


async def set_webhook(state: EmulatorState, p: dict) -> bool:
    url = str(p.get("url") or "").strip()
    secret = p.get("secret_token")
    if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
        raise bad_request("secret token contains unallowed characters")
    if url and not re.match(r"^https?://", url):
        raise bad_request("bad webhook: HTTPS url must be provided for webhook")
    max_connections = _int(p, "max_connections", default=40)
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    allowed = _json(p, "allowed_updates")
    if allowed is not None:
        state.allowed_updates = list(allowed)
    config = {"url": url, "secret_token": secret, "max_connections": max_connections}
    state.set_webhook(config if url else None, _bool(p, "drop_pending_updates"))
    await state.notify()
    return True


async def delete_webhook(state: EmulatorState, p: dict) -> bool:
    state.set_webhook(None, _bool(p, "drop_pending_updates"))
    await state.notify()
    return True


async def get_webhook_info(state: EmulatorState, p: dict) -> dict:
    return state.webhook_info()


async def get_updates(state: EmulatorState, p: dict) -> list:
    if state.webhook:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use "
            "deleteWebhook to delete the webhook first",
        )
    offset = _int(p, "offset", default=0)
    limit = max(1, min(_int(p, "limit", default=100), 100))
    timeout = max(0, min(_int(p, "timeout", default=0), 50))
    allowed = _json(p, "allowed_updates")
    if allowed is not None:
        state.allowed_updates = list(allowed)
    # A positive offset confirms every earlier update; a negative one keeps only the last -offset.
    if offset > 0:
        state.pending[:] = [u for u in state.pending if u["update_id"] >= offset]
    elif offset < 0:
        state.pending[:] = state.pending[offset:]
    await state.wait_until(lambda: bool(state.pending) or bool(state.webhook), timeout)
    return [] if state.webhook else list(state.pending[:limit])


def _commands_key(p: dict) -> str:
    scope = _json(p, "scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True) + "|" + str(p.get("language_code") or "")


async def set_my_commands(state: EmulatorState, p: dict) -> bool:
    commands = _json(p, "commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    for c in commands:
        if not isinstance(c, dict) or not re.fullmatch(r"[a-z0-9_]{1,32}", str(c.get("command"))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(c.get("description") or "")) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    state.commands[_commands_key(p)] = [
        {"command": c["command"], "description": c["description"]} for c in commands
    ]
    return True


async def get_my_commands(state: EmulatorState, p: dict) -> list:
    return state.commands.get(_commands_key(p), [])


async def delete_my_commands(state: EmulatorState, p: dict) -> bool:
    state.commands.pop(_commands_key(p), None)
    return True


async def set_my_description(state: EmulatorState, p: dict) -> bool:
    description = str(p.get("description") or "")
    if len(description) > 512:
        raise bad_request("BOT_DESCRIPTION_INVALID")
    state.descriptions[str(p.get("language_code") or "")] = description
    return True


async def get_my_description(state: EmulatorState, p: dict) -> dict:
    return {"description": state.descriptions.get(str(p.get("language_code") or ""), "")}


# Telegram matches method names case-insensitively.
METHODS = {
    name.lower(): fn
    for name, fn in {
        "getMe": get_me,
        "sendMessage": send_message,
        "editMessageText": edit_message_text,
        "editMessageReplyMarkup": edit_message_reply_markup,
        "deleteMessage": delete_message,
        "sendChatAction": send_chat_action,
        "sendPhoto": send_photo,
        "sendMediaGroup": send_media_group,
        "answerCallbackQuery": answer_callback_query,
        "setWebhook": set_webhook,
        "deleteWebhook": delete_webhook,
        "getWebhookInfo": get_webhook_info,
        "getUpdates": get_updates,
        "setMyCommands": set_my_commands,
        "getMyCommands": get_my_commands,
        "deleteMyCommands": delete_my_commands,
        "getFile": get_file,
        "setMyDescription": set_my_description,
        "getMyDescription": get_my_description,
    }.items()
}
