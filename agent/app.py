"""The AgentCore Runtime entrypoint: accept an update at once, work on it in the background.

Routing: quick updates (help, status, stop, yes/no about a preview, buttons that need no work,
edits, photos…) are answered at once, outside the chat's queue; work (change requests, ship,
undo, discard) queues per chat, one at a time, and a queued item is acknowledged once.
Redeliveries are dropped at accept time, before anything can answer them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from bedrock_agentcore.runtime import BedrockAgentCoreApp
from telegram import Bot, Update
from telegram.error import TelegramError

from agent import inbox as chat_inbox
from agent import lifecycle_calls, logs, recovery, replies, selfcheck
from agent.context import blocking
from agent.intents import NO_PREVIEW, Intent, Parsed, parse_callback, parse_reply, parse_text
from agent.journey import Journey
from agent.messages import clip, render
from agent.state import request_id_for
from agent.updates import Incoming, Kind, classify

log = logging.getLogger(__name__)

app = BedrockAgentCoreApp()

WORK = (Intent.REQUEST, Intent.SHIP, Intent.UNDO, Intent.DISCARD, Intent.REDO, Intent.PHOTO)
WORK += (Intent.RESTORE,)  # puts another version live: serialized like a ship
SILENT = (Kind.MEMBERSHIP, Kind.IGNORED)  # blocked/unblocked, service messages: no reply


class Runtime:
    """Routes updates to chats: work one at a time per chat, everything else out of turn."""

    def __init__(self, journey: Journey, bot: Bot) -> None:
        self.journey = journey
        self.bot = bot
        self.locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.running: dict[int, tuple[asyncio.Task, Parsed]] = {}  # a chat's current work
        self.tasks: set[asyncio.Task] = set()
        self.inflight: set[tuple[int, int | None]] = set()  # (chat, update) accepted, unfinished
        self.gates: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)  # inbox drains
        self.queues: defaultdict[int, list[Parsed]] = defaultdict(list)  # work joined, unfinished

    @property
    def deps(self):
        return self.journey.deps

    def accept(self, data: dict) -> dict:
        incoming = classify(data)
        if incoming.kind in SILENT or incoming.chat_id is None:
            log.info("update %s: %s, no reply", incoming.update_id, incoming.kind.value)
            return {"accepted": False, "reason": incoming.kind.value}
        # Dedupe here, not in the worker: a redelivery while the first copy still runs must
        # not even be queued (it would be acknowledged as a new message).
        if incoming.update_id is not None and not self.deps.store.first_delivery(
            incoming.chat_id, incoming.update_id
        ):
            # Still says what the update started: when the inbox took it ahead of its own
            # delivery (agent/inbox.py), this is the answer its lifecycle supervises by.
            log.info("update %s already accepted", incoming.update_id)
            return {"duplicate": True} | _accepted(incoming)
        task_id = app.add_async_task("telegram-update", {"update_id": incoming.update_id})
        self.inflight.add((incoming.chat_id, incoming.update_id))
        self._spawn(self._process(incoming, data, task_id))
        return _accepted(incoming)

    async def take(self, data: dict, inbox_key: object = None) -> dict:
        """Accept a delivered update after every earlier one of its chat still in the inbox.

        Deliveries race (one durable execution each); the inbox holds Telegram's order.
        """
        inbox, chat_id = self.deps.inbox, classify(data).chat_id
        if inbox is None or chat_id is None or not chat_inbox.belongs(chat_id, inbox_key):
            return self.accept(data)
        async with self.gates[chat_id]:  # one drain at a time per chat
            try:
                earlier = await blocking(inbox.due, chat_id, inbox_key)
            except chat_inbox.InboxUnavailable as exc:
                log.warning("%s; taking update %s alone", exc, data.get("update_id"))
                earlier = []
            for _key, update in earlier:
                self.accept(update)
            answer = self.accept(data)
        taken = [key for key, _ in earlier] + [inbox_key]
        self._spawn(blocking(inbox.forget, taken))
        return answer

    def in_flight(self, chat_id: int, update_id: int) -> bool:
        """Accepted and not finished (the lifecycle asks before delivering an update again)."""
        return (chat_id, update_id) in self.inflight

    def is_running(self, chat_id: int) -> bool:
        return chat_id in self.running

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)  # keep a reference so the task is not garbage-collected mid-flight
        task.add_done_callback(self.tasks.discard)

    async def _process(self, incoming: Incoming, data: dict, task_id: int) -> None:
        chat_id = incoming.chat_id
        logs.bind(chat=chat_id, update=incoming.update_id)  # on every log line of this task
        try:
            await self._route(incoming, data)
        except asyncio.CancelledError:
            log.info("chat %s: request stopped", chat_id)
        except Exception:
            log.exception("chat %s: update %s failed", chat_id, incoming.update_id)
            await self._say_sorry(chat_id)
        finally:
            self.inflight.discard((chat_id, incoming.update_id))
            app.complete_async_task(task_id)

    async def _say_sorry(self, chat_id: int) -> None:
        """Whatever broke, the requester hears so (unless Telegram itself stays unreachable)."""
        try:
            await self.deps.chat.send(chat_id, render("unexpected"))
        except Exception:
            log.exception("chat %s: could not even say sorry", chat_id)

    async def _route(self, incoming: Incoming, data: dict) -> None:
        deps, chat_id = self.deps, incoming.chat_id
        if incoming.kind is Kind.TEXT and selfcheck.is_request(
            incoming.text, chat_id, deps.settings.owner_chat_id
        ):  # the owner's /selftest: answered out of turn, like any quick question
            await selfcheck.run_and_report(deps, self.bot, render("selfcheck_reason_request"))
            return
        if incoming.kind is Kind.BUTTON:
            # Only stops the spinner; never let it hold the tap back from its place in the queue.
            self._spawn(deps.chat.answer_button(incoming.callback_id))
            parsed = parse_callback(incoming.callback_data)
        elif incoming.kind is Kind.TEXT and incoming.forwarded:
            # Someone else's words: never a command ("ship it" forwarded must not ship).
            await deps.chat.send(chat_id, render("forwarded", request=clip(incoming.text, 200)))
            parsed = Parsed(Intent.REQUEST, text=incoming.text.strip())
        elif incoming.kind is Kind.TEXT:
            pending = deps.store.load_chat(chat_id).pending
            parsed = parse_reply(incoming.text, preview_waiting=pending is not None)
            if parsed.intent in (Intent.SHIP, Intent.DISCARD):
                # Pinned to the preview on screen now: a request still running may replace
                # it, and a typed "ship it" must never ship a preview nobody has seen.
                parsed = Parsed(parsed.intent, pending.id if pending else NO_PREVIEW)
            elif parsed.intent is Intent.REQUEST and not parsed.text:
                parsed = Parsed(Intent.HELP)  # only spaces: nothing to work on
        elif incoming.kind is Kind.MEDIA and incoming.media == "photo":
            # A photo (or an album, as one request) is a change request: it queues as work.
            update = _parse(data, self.bot)
            if update is None or self.journey.albums.absorb(update):
                return  # a later photo of an album joins the request its first photo started
            self.journey.note_sender(deps.store.load_chat(chat_id), update)
            await self._work(chat_id, Parsed(Intent.PHOTO), update)
            return
        else:
            await replies.other_kind(deps, incoming)
            return
        update = _parse(data, self.bot)
        self.journey.note_sender(deps.store.load_chat(chat_id), update)
        self._spawn(self.journey.owner_digest())
        if parsed.intent is Intent.STOP:
            await self._stop(chat_id)
        elif parsed.intent in WORK:
            await self._work(chat_id, parsed, update)
        else:
            state = deps.store.load_chat(chat_id)
            if chat_id not in self.running:
                await self.journey.close_out_restart(state)
            await self.journey.dispatch(state, parsed, update)

    async def _work(self, chat_id: int, parsed: Parsed, update: Update | None) -> None:
        lock, queue = self.locks[chat_id], self.queues[chat_id]
        # Busy by the queue, not the lock: work accepted in the same tick (the inbox hands over
        # a chat's earlier updates together) has not taken the lock yet.
        ahead = queue[0] if queue else None
        queue.append(parsed)
        try:
            # Join the lock before anything else awaits: acknowledgements can finish in any
            # order, and the work must still run in the order the messages came.
            turn = asyncio.ensure_future(lock.acquire())
            try:
                if ahead is not None:
                    await self._acknowledge(chat_id, parsed, ahead)
                await turn
            except BaseException:
                turn.cancel()
                if turn.done() and not turn.cancelled():
                    lock.release()
                raise
            self.running[chat_id] = (asyncio.current_task(), parsed)
            try:
                state = self.deps.store.load_chat(chat_id)  # fresh: earlier work changed it
                await self.journey.close_out_restart(state)
                await self.journey.dispatch(state, parsed, update)
            finally:
                self.running.pop(chat_id, None)
                lock.release()
        finally:
            queue.remove(parsed)

    async def _acknowledge(self, chat_id: int, parsed: Parsed, ahead: Parsed) -> None:
        current = self.running.get(chat_id)
        what = _describe(current[1] if current else ahead)
        try:
            await self.deps.chat.send(
                chat_id, render("queued", request=_describe(parsed), current=what)
            )
        except TelegramError:  # the work itself still runs, and answers when done
            log.warning("chat %s: could not acknowledge a queued message", chat_id)

    async def _stop(self, chat_id: int) -> None:
        current = self.running.get(chat_id)
        if current is None:
            await self.deps.chat.send(chat_id, render("nothing_running"))
        elif current[1].intent is not Intent.REQUEST and current[1].intent is not Intent.REDO:
            # Half a ship or undo is worse than a whole one: these finish in moments anyway.
            await self.deps.chat.send(chat_id, render("cannot_stop", current=_describe(current[1])))
        else:
            current[0].cancel()


def _accepted(incoming: Incoming) -> dict:
    """The answer to a delivery: accepted, and whether it started a request the lifecycle
    (relay/lifecycle.py) should supervise."""
    answer = {"accepted": True, "update_id": incoming.update_id}
    text = incoming.text if incoming.kind is Kind.TEXT and not incoming.forwarded else ""
    if text and parse_text(text).intent is Intent.REQUEST:
        answer |= {"started": "request", "request_id": request_id_for(incoming.update_id)}
    return answer


def _describe(parsed: Parsed) -> str:
    """What a piece of work is, in the requester's words, short enough for one line."""
    if parsed.intent is Intent.REQUEST and parsed.text:
        return f"“{clip(parsed.text, 80)}”"
    return render(f"doing_{parsed.intent.value}")


def _parse(data: dict, bot: Bot) -> Update | None:
    """The python-telegram-bot view of an update classify() accepted (None if it will not parse)."""
    try:
        return Update.de_json(data, bot)
    except Exception:  # its fields were checked by classify; the journey copes without it
        log.warning("update %s did not parse", data.get("update_id"))
        return None


_runtime: asyncio.Future | None = None  # the one Runtime, built by the first invocation
_factory = None  # set by agent/__main__.py: builds the Runtime on the worker event loop
_starting = asyncio.Lock()  # the first invocations wait for one build and one recovery
_recovered: set[str | None] = set()  # sessions whose crashed requests were closed out here


def configure(factory) -> None:
    """Register how to build the Runtime (it must be built on the loop that serves requests)."""
    global _factory, _runtime
    _factory, _runtime = factory, None


async def _the_runtime() -> Runtime:
    """Built once even when the first updates arrive together: two Runtimes would mean two
    locks per chat, and a chat's requests would run at the same time, out of order."""
    global _runtime
    if _runtime is None or (_runtime.done() and _runtime.exception() is not None):
        _runtime = asyncio.ensure_future(_build())
    return await asyncio.shield(_runtime)


async def _build() -> Runtime:
    runtime = await _factory()
    selfcheck.start_in_background(app, runtime.journey.deps, runtime.bot)
    return runtime


@app.entrypoint
async def invoke(payload, context):
    """AgentCore hands us {"update": <Telegram update>}; answer at once, work in the background."""
    runtime = await _the_runtime()
    session = getattr(context, "session_id", None)
    if session not in _recovered:
        async with _starting:
            if session not in _recovered:
                # Crash honesty, before this session's first work: its chat's unfinished request
                # is closed out (other chats belong to other sessions, maybe live elsewhere).
                await recovery.close_out(runtime.journey.deps, session)
                _recovered.add(session)
    if isinstance(payload, dict) and "lifecycle" in payload:
        try:
            return await lifecycle_calls.answer(runtime.journey.deps, runtime, payload["lifecycle"])
        except lifecycle_calls.BadCall as exc:
            return {"error": str(exc)}
    update = payload.get("update") if isinstance(payload, dict) else None
    if not isinstance(update, dict):
        return {"accepted": False, "reason": 'payload must be {"update": {...}}'}
    log.info("session %s: update %s", getattr(context, "session_id", None), update.get("update_id"))
    return await runtime.take(update, payload.get("inbox_key"))
