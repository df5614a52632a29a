"""The AgentCore Runtime entrypoint: accept an update at once, work on it in the background."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import TYPE_CHECKING

from bedrock_agentcore.runtime import BedrockAgentCoreApp

from agent import lifecycle_calls, logs, recovery, selfcheck
from agent.intents import Intent, parse_callback, parse_text
from agent.messages import render
from agent.state import request_id_for

if TYPE_CHECKING:  # the journey and telegram load with the Runtime, after /ping answers
    from telegram import Bot, Update

    from agent.journey import Journey

log = logging.getLogger(__name__)

app = BedrockAgentCoreApp()


class Runtime:
    """Routes updates to chats: one at a time per chat, Stop handled out of turn."""

    def __init__(self, journey: Journey, bot: Bot) -> None:
        self.journey = journey
        self.bot = bot
        self.locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.requests: dict[int, asyncio.Task] = {}  # a chat's running change request
        self.tasks: set[asyncio.Task] = set()
        self.inflight: set[tuple[int, int]] = set()  # (chat, update) accepted, not yet finished

    def in_flight(self, chat_id: int, update_id: int) -> bool:
        return (chat_id, update_id) in self.inflight

    def running(self, chat_id: int) -> bool:
        return chat_id in self.requests

    def accept(self, data: dict) -> dict:
        from telegram import Update

        update = Update.de_json(data, self.bot)
        if update is None or update.effective_chat is None:
            return {"accepted": False, "reason": "no chat in update"}
        task_id = app.add_async_task("telegram-update", {"update_id": update.update_id})
        task = asyncio.create_task(self._process(update, task_id))
        self.tasks.add(task)  # keep a reference so the task is not garbage-collected mid-flight
        task.add_done_callback(self.tasks.discard)
        self.inflight.add((update.effective_chat.id, update.update_id))
        answer = {"accepted": True, "update_id": update.update_id}
        text = update.message.text if update.message else None
        if isinstance(text, str) and text and parse_text(text).intent is Intent.REQUEST:
            # Told to the lifecycle (relay/lifecycle.py), which supervises the request.
            answer |= {"started": "request", "request_id": request_id_for(update.update_id)}
        return answer

    async def _process(self, update: Update, task_id: int) -> None:
        chat_id = update.effective_chat.id
        logs.bind(chat=chat_id, update=update.update_id)  # on every log line of this task
        try:
            if self.journey.albums.absorb(update):
                return  # a later photo of an album: it joins the request its first photo started
            if self._is_selftest(update):
                deps = self.journey.deps
                await selfcheck.run_and_report(deps, self.bot, render("selfcheck_reason_request"))
                return
            if self._is_stop(update):
                await self._stop(update, chat_id)
                return
            lock = self.locks[chat_id]
            if lock.locked() and chat_id in self.requests and update.message is not None:
                request = self.journey.deps.store.load_chat(chat_id).busy_request or ""
                await self.journey.deps.chat.send(chat_id, render("busy", request=request))
            async with lock:
                self.requests[chat_id] = asyncio.current_task()
                try:
                    await self.journey.handle(update)
                finally:
                    self.requests.pop(chat_id, None)
        except asyncio.CancelledError:
            log.info("chat %s: request stopped", chat_id)
        except Exception:
            log.exception("chat %s: update %s failed", chat_id, update.update_id)
        finally:
            self.inflight.discard((chat_id, update.update_id))
            app.complete_async_task(task_id)

    def _is_selftest(self, update: Update) -> bool:
        text = update.message.text if update.message else None
        owner = self.journey.deps.settings.owner_chat_id
        return selfcheck.is_request(text, update.effective_chat.id, owner)

    @staticmethod
    def _is_stop(update: Update) -> bool:
        if update.callback_query is not None:
            return parse_callback(update.callback_query.data or "").intent is Intent.STOP
        text = update.message.text if update.message else None
        return bool(text) and parse_text(text).intent is Intent.STOP

    async def _stop(self, update: Update, chat_id: int) -> None:
        if update.callback_query is not None:
            await self.journey.deps.chat.answer_button(update.callback_query.id, "Stopping…")
        task = self.requests.get(chat_id)
        if task is None:
            await self.journey.deps.chat.send(chat_id, render("nothing_running"))
            return
        task.cancel()


_runtime: Runtime | None = None
_factory = None  # set by agent/__main__.py: builds the Runtime on the worker event loop
_starting = asyncio.Lock()  # the first invocations wait for one build and one recovery
_recovered: set[str | None] = set()  # sessions whose crashed requests were closed out here


def configure(factory) -> None:
    """Register how to build the Runtime (it must be built on the loop that serves requests)."""
    global _factory, _runtime
    _factory, _runtime = factory, None


@app.entrypoint
async def invoke(payload, context):
    """AgentCore hands us {"update": <Telegram update>}; answer at once, work in the background."""
    global _runtime
    session = getattr(context, "session_id", None)
    if _runtime is None or session not in _recovered:
        async with _starting:
            if _runtime is None:
                _runtime = await _factory()
                selfcheck.start_in_background(app, _runtime.journey.deps, _runtime.bot)
            if session not in _recovered:
                # Crash honesty, before this session's first work: its chat's unfinished request
                # is closed out (other chats belong to other sessions, maybe live elsewhere).
                await recovery.close_out(_runtime.journey.deps, session)
                _recovered.add(session)
    if isinstance(payload, dict) and "lifecycle" in payload:
        try:
            return await lifecycle_calls.answer(
                _runtime.journey.deps, _runtime, payload["lifecycle"]
            )
        except lifecycle_calls.BadCall as exc:
            return {"error": str(exc)}
    update = payload.get("update") if isinstance(payload, dict) else None
    if not isinstance(update, dict):
        return {"accepted": False, "reason": 'payload must be {"update": {...}}'}
    log.info("session %s: update %s", getattr(context, "session_id", None), update.get("update_id"))
    return _runtime.accept(update)
