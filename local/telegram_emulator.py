"""Local Telegram Bot API emulator: Bot API for the bot, chat page for people, JSON API for tests.

Hand-written because no maintained emulator installs here: tgfake needs Go >= 1.22, and the npm
telegram-test-api breaks python-telegram-bot 22 (no `is_bot`, dates in milliseconds); the Python
ones are dead or need 3.12+. It emulates what Shipit uses, with Telegram's limits and errors.

Bot API (for the bot; JSON, form-urlencoded or multipart bodies; GET or POST):
    /bot<token>/<method>   getMe sendMessage editMessageText editMessageReplyMarkup deleteMessage
                           sendChatAction sendPhoto answerCallbackQuery setWebhook deleteWebhook
                           getWebhookInfo getUpdates setMyCommands getMyCommands deleteMyCommands
                           getFile sendMediaGroup setMyDescription getMyDescription
    GET /file/bot<token>/<file_path>   a stored photo
    Only parse_mode HTML is parsed (Markdown modes pass through as plain text). Private chats
    only; a chat exists once its user has written (else "chat not found"), like on Telegram.

Test API (JSON; <chat_id> is the user's id in a private chat):
    GET  /_emulator/info                      bot, page user, webhook info, cursor
    POST /_emulator/config                    {"rate_limit": {"max_calls", "window",
                                              "retry_after"} | null, "webhook_retry_delays": [..],
                                              "page_user": {"id", "first_name"}}
    POST /_emulator/reset                     forget chats, updates, files, webhook, deliveries
    GET  /_emulator/chats                     chats with message counts
    POST /_emulator/chats/<chat_id>/messages  {"text", "user_id"?, "first_name"?, "last_name"?,
                                              "username"?} → {"update", "message", "cursor"}
    POST /_emulator/chats/<chat_id>/photos    {"photo_b64", "caption"?, "media_group_id"?,
                                              "user_id"?, "first_name"?}: the person sends a
                                              photo (one album member per call)
    POST /_emulator/chats/<chat_id>/callbacks {"message_id", "callback_data" | "button_text",
                                              "user_id"?, "first_name"?} → {"update", "cursor"}
    GET  /_emulator/chats/<chat_id>/messages  ?include_deleted=1 → {"cursor", "messages",
                                              "action", "answers"}
    GET  /_emulator/chats/<chat_id>/wait      ?after=<cursor>&timeout=<s>&from=bot|any: long-poll
                                              until the bot (or anyone, from=any) changed the chat
                                              after <cursor>; same body plus "changed"
    GET  /_emulator/deliveries                ?after=<n>&timeout=<s>: webhook delivery attempts,
                                              long-polling until there are more than n
    GET  /_emulator/files/<file_id>           a photo, for the chat page
    GET  /                                    the chat page (?user_id=&name= pick the person)
Cursors are a global change counter: every message carries the `version` of its last change.

Webhook: after setWebhook each update is POSTed as JSON with X-Telegram-Bot-Api-Secret-Token, one
at a time per chat; a non-2xx answer or connection error is retried after each of
`webhook_retry_delays`, then dropped (Telegram keeps trying for 24 h; tests want an end). A JSON
answer carrying "method" is executed, as Telegram does. Without a webhook, updates wait for
getUpdates. In-process: `start_emulator(token, **options)` serves it on a loopback port and
returns url, state, client() and stop().
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from local.servers import ServerHandle, serve_in_thread
from local.telegram_client import EmulatorClient
from local.telegram_content import format_text, image_size
from local.telegram_methods import (
    CAPTION_LIMIT,
    METHODS,
    PHOTO_LIMIT,
    TEXT_LIMIT,
    Upload,
    store_file,
)
from local.telegram_state import ApiError, Chat, EmulatorState, RateLimit, bad_request

__all__ = ["EmulatorState", "RateLimit", "RunningEmulator", "create_app", "start_emulator"]

_PAGE = Path(__file__).with_name("chat_page.html")
_WAIT_LIMIT = 60.0


def _error(exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.code)


async def _params(request: Request) -> dict:
    params: dict = dict(request.query_params)
    ctype = request.headers.get("content-type", "")
    if "json" in ctype:
        body = await request.body()
        if body.strip():
            try:
                data = json.loads(body)
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if isinstance(data, dict):
                params.update(data)
    elif "form" in ctype:
        form = await request.form()
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                params[key] = Upload(value.filename or key, await value.read(), value.content_type)
            else:
                params[key] = value
    return params


def _user(body: dict, chat_id: int, state: EmulatorState) -> dict:
    user_id = int(body.get("user_id") or chat_id)
    default = state.page_user["first_name"] if user_id == state.page_user["id"] else "User"
    user = {"id": user_id, "is_bot": False, "first_name": body.get("first_name") or default}
    for key in ("last_name", "username", "language_code"):
        if body.get(key):
            user[key] = body[key]
    return user


def _chat_body(state: EmulatorState, chat: Chat | None, include_deleted: bool = False) -> dict:
    if chat is None:
        return {"cursor": state.version, "messages": [], "action": None, "answers": []}
    action = chat.action if chat.action and chat.action["until"] > time.time() else None
    return {
        "cursor": state.version,
        "messages": [m.to_view() for m in chat.messages if include_deleted or not m.deleted],
        "action": action and action["action"],
        "answers": chat.answers,
    }


def create_app(
    token: str,
    *,
    bot_username: str = "shipit_bot",
    bot_name: str = "Shipit",
    rate_limit: RateLimit | None = None,
    webhook_retry_delays: tuple[float, ...] = (0.2, 0.5, 1, 2, 5),
    page_user_id: int = 111111,
    page_user_name: str = "Sam",
) -> Starlette:
    """The emulator app; its state is `app.state.emulator` (an EmulatorState)."""
    state = EmulatorState(token, bot_username, bot_name, rate_limit, webhook_retry_delays)
    state.page_user = {"id": page_user_id, "first_name": page_user_name}  # who the page types as

    async def call(method: str, params: dict):
        fn = METHODS.get(method.lower())
        if fn is None:
            raise ApiError(404, "Not Found")
        return await fn(state, params)

    state.on_webhook_reply = call

    async def bot_api(request: Request) -> Response:
        token_given = request.path_params["token"]
        if token_given != token:
            # Telegram: 404 for a malformed token, 401 for a well-formed but wrong one.
            if ":" not in token_given:
                return _error(ApiError(404, "Not Found"))
            return _error(ApiError(401, "Unauthorized"))
        try:
            result = await call(request.path_params["method"], await _params(request))
        except ApiError as exc:
            return _error(exc)
        return JSONResponse({"ok": True, "result": result})

    async def file_download(request: Request) -> Response:
        path = request.path_params["path"]
        file = next((f for f in state.files.values() if f["file_path"] == path), None)
        if request.path_params["token"] != token or file is None:
            return _error(ApiError(404, "Not Found"))
        return Response(file["content"], media_type=file["content_type"])

    async def page_file(request: Request) -> Response:
        file = state.files.get(request.path_params["file_id"])
        if file is None:
            return Response(status_code=404)
        if file["remote_url"]:
            return RedirectResponse(file["remote_url"])
        return Response(file["content"], media_type=file["content_type"])

    async def info(request: Request) -> Response:
        return JSONResponse(
            {
                "bot": state.bot,
                "page_user": state.page_user,
                "webhook": state.webhook_info(),
                "commands": state.commands,
                "descriptions": state.descriptions,
                "cursor": state.version,
            }
        )

    async def config(request: Request) -> Response:
        try:
            body = await request.json()
            if "rate_limit" in body:
                limit = body["rate_limit"]
                state.rate_limit = RateLimit(**limit) if limit else None
            if "webhook_retry_delays" in body:
                state.webhook_retry_delays = tuple(float(d) for d in body["webhook_retry_delays"])
            if body.get("page_user"):
                state.page_user = {
                    "id": int(body["page_user"]["id"]),
                    "first_name": str(body["page_user"]["first_name"]),
                }
        except (TypeError, ValueError, KeyError) as exc:
            return _error(bad_request(f"bad config: {exc}"))
        return await info(request)

    async def reset(request: Request) -> Response:
        state.reset()
        await state.notify()
        return JSONResponse({"ok": True})

    async def chats(request: Request) -> Response:
        return JSONResponse(
            {
                "chats": [
                    {
                        "id": c.id,
                        "user": c.user,
                        "message_count": len(c.messages),
                        "version": c.version,
                    }
                    for c in state.chats.values()
                ]
            }
        )

    def chat_id_of(request: Request) -> int:
        try:
            return int(request.path_params["chat_id"])
        except ValueError:
            raise bad_request("chat_id must be an integer") from None

    async def user_message(request: Request) -> Response:
        try:
            chat_id, body = chat_id_of(request), await request.json()
            # People's messages obey the same limits and get the same detected entities.
            text, entities = format_text(body.get("text"), None, [], TEXT_LIMIT)
        except ApiError as exc:
            return _error(exc)
        user = _user(body, chat_id, state)
        chat = state.ensure_chat(chat_id, user)
        msg = state.add_message(chat, from_bot=False, sender=user, text=text, entities=entities)
        update = await state.push_update("message", msg.to_api(chat.api_chat()), chat_id)
        return JSONResponse({"update": update, "message": msg.to_view(), "cursor": state.version})

    async def user_photo(request: Request) -> Response:
        try:
            chat_id, body = chat_id_of(request), await request.json()
            content = base64.b64decode(str(body.get("photo_b64") or ""), validate=True)
            width, height = image_size(content)
            if not width or len(content) > PHOTO_LIMIT:
                raise bad_request("not a PNG/JPEG/GIF photo (or too big)")
            caption, entities = format_text(
                body.get("caption"), None, [], CAPTION_LIMIT, caption=True
            )
        except binascii.Error:
            return _error(bad_request("photo_b64 is not base64"))
        except ApiError as exc:
            return _error(exc)
        user = _user(body, chat_id, state)
        chat = state.ensure_chat(chat_id, user)
        ctype = "image/png" if content.startswith(b"\x89PNG") else "image/jpeg"
        file = store_file(state, content, ctype, width, height)
        size = {k: file[k] for k in ("file_id", "file_unique_id", "width", "height", "file_size")}
        msg = state.add_message(
            chat, from_bot=False, sender=user, photo=[size], caption=caption, entities=entities
        )
        msg.media_group_id = str(body["media_group_id"]) if body.get("media_group_id") else None
        update = await state.push_update("message", msg.to_api(chat.api_chat()), chat_id)
        return JSONResponse({"update": update, "message": msg.to_view(), "cursor": state.version})

    async def press_button(request: Request) -> Response:
        try:
            chat_id, body = chat_id_of(request), await request.json()
            chat = state.chat(chat_id)
            msg = chat.find(int(body.get("message_id") or 0))
            if msg is None or not msg.from_bot:
                raise bad_request("no such bot message in this chat")
            rows = (msg.reply_markup or {}).get("inline_keyboard", [])
            wanted = body.get("callback_data"), body.get("button_text")
            button = next(
                (
                    b
                    for row in rows
                    for b in row
                    if "callback_data" in b
                    and (b["callback_data"] == wanted[0] or b["text"] == wanted[1])
                ),
                None,
            )
            if button is None:
                raise bad_request(f"no callback button matching {wanted} among {rows}")
        except ApiError as exc:
            return _error(exc)
        user = _user(body, chat_id, state)
        query_id = str(secrets.randbits(63))
        state.callback_queries[query_id] = {"id": query_id, "chat_id": chat_id, "answered": False}
        query = {
            "id": query_id,
            "from": user,
            "message": msg.to_api(chat.api_chat()),
            "chat_instance": str(-chat_id * 7 - 1),
            "data": button["callback_data"],
        }
        update = await state.push_update("callback_query", query, chat_id)
        return JSONResponse(
            {"update": update, "callback_query_id": query_id, "cursor": state.version}
        )

    async def chat_messages(request: Request) -> Response:
        try:
            chat = state.chats.get(chat_id_of(request))
        except ApiError as exc:
            return _error(exc)
        include = request.query_params.get("include_deleted") in ("1", "true")
        return JSONResponse(_chat_body(state, chat, include))

    async def chat_wait(request: Request) -> Response:
        try:
            chat_id = chat_id_of(request)
            after = int(request.query_params.get("after", state.version))
            timeout = min(float(request.query_params.get("timeout", 25)), _WAIT_LIMIT)
        except (ApiError, ValueError):
            return _error(bad_request("chat_id, after and timeout must be numbers"))
        any_change = request.query_params.get("from", "bot") == "any"

        def changed() -> bool:
            chat = state.chats.get(chat_id)
            return chat is not None and (chat.version if any_change else chat.bot_version) > after

        result = await state.wait_until(changed, timeout)
        include = request.query_params.get("include_deleted") in ("1", "true")
        body = _chat_body(state, state.chats.get(chat_id), include)
        return JSONResponse({**body, "changed": result})

    async def deliveries(request: Request) -> Response:
        try:
            after = int(request.query_params.get("after", -1))
            timeout = min(float(request.query_params.get("timeout", 0)), _WAIT_LIMIT)
        except ValueError:
            return _error(bad_request("after and timeout must be numbers"))
        await state.wait_until(lambda: len(state.deliveries) > after, timeout)
        return JSONResponse({"deliveries": state.deliveries, "count": len(state.deliveries)})

    async def page(request: Request) -> Response:
        return HTMLResponse(_PAGE.read_text(encoding="utf-8"))

    routes = [
        Route("/", page),
        Route("/bot{token}/{method}", bot_api, methods=["GET", "POST"]),
        Route("/file/bot{token}/{path:path}", file_download),
        Route("/_emulator/info", info),
        Route("/_emulator/config", config, methods=["POST"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/chats", chats),
        Route("/_emulator/chats/{chat_id}/messages", user_message, methods=["POST"]),
        Route("/_emulator/chats/{chat_id}/messages", chat_messages, methods=["GET"]),
        Route("/_emulator/chats/{chat_id}/photos", user_photo, methods=["POST"]),
        Route("/_emulator/chats/{chat_id}/callbacks", press_button, methods=["POST"]),
        Route("/_emulator/chats/{chat_id}/wait", chat_wait),
        Route("/_emulator/deliveries", deliveries),
        Route("/_emulator/files/{file_id}", page_file),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = state
    return app


@dataclass
class RunningEmulator:
    """An emulator serving on a loopback port (see start_emulator)."""

    url: str
    token: str
    state: EmulatorState
    handle: ServerHandle

    def client(self, timeout: float = 10.0) -> EmulatorClient:
        return EmulatorClient(self.url, timeout=timeout)

    def stop(self) -> None:
        # Release long-polls first: uvicorn waits for open responses before it exits.
        self.state.shutdown()
        self.handle.stop()


def start_emulator(token: str, port: int = 0, **options) -> RunningEmulator:
    """Serve create_app(token, **options) in a background thread on 127.0.0.1:port."""
    app = create_app(token, **options)
    handle = serve_in_thread(app, port=port, name="telegram-emulator")
    return RunningEmulator(handle.url, token, app.state.emulator, handle)
