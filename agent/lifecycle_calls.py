"""The agent's answers to the durable lifecycle (relay/lifecycle.py): status, remind, expire.

Each call is idempotent, because durable steps run at least once: a status is a read; a reminder
goes out at most once per preview; an expiry of a preview that was shipped, discarded or
replaced does nothing. Payload: {"lifecycle": {"op": …, "chat_id": …, …}}.
"""

from __future__ import annotations

import logging
from typing import Protocol

from agent.context import Deps, blocking
from agent.intents import Intent, button
from agent.messages import render
from agent.state import ChatState

log = logging.getLogger(__name__)


class Work(Protocol):
    """What the runtime knows only in memory: which updates are accepted but not finished."""

    def in_flight(self, chat_id: int, update_id: int) -> bool: ...

    def running(self, chat_id: int) -> bool: ...


class BadCall(ValueError):
    """The lifecycle sent a call this agent does not understand (a version skew)."""


def span(seconds: float) -> str:
    """A wait in words: "7 days", "1 day", "5 hours", "30 minutes"."""
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = round(seconds / size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "a moment"


def update_id_of(request_id: str) -> int | None:
    digits = request_id[1:] if request_id.startswith("u") else ""
    return int(digits) if digits.isdigit() else None


def request_status(
    state: ChatState, request_id: str, work: Work, accepted: dict | None = None
) -> dict:
    """Where request `request_id` stands (pure apart from `work`, which is memory); `accepted`
    is the store's record of accepted updates (the chat state's own when not given)."""
    accepted = state.seen_updates if accepted is None else accepted
    update_id = update_id_of(request_id)
    if state.busy_id == request_id:
        # Busy on disk: running here, unless this process never had it (recovery closes it).
        return {"state": "running" if work.is_running(state.chat_id) else "lost"}
    if state.interrupted_id == request_id:
        return {"state": "interrupted", "told": True}
    if update_id is not None and work.in_flight(state.chat_id, update_id):
        return {"state": "running"}  # accepted, queued behind another request or starting
    if state.pending is not None and state.pending.request_id == request_id:
        return {"state": "waiting", "preview_id": state.pending.id}
    if update_id is not None and str(update_id) not in accepted:
        # Accepted by a process that died before it even looked at the update.
        return {"state": "lost"}
    return {"state": "done"}


async def remind(deps: Deps, chat_id: int, preview_id: str, expires_in_s: float) -> dict:
    state = deps.store.load_chat(chat_id)
    pending = state.pending
    if pending is None or pending.id != preview_id:
        return {"state": "gone"}  # shipped, discarded or replaced: nothing to remind about
    if not pending.reminded:
        pending.reminded = True
        deps.store.save_chat(state)  # first: a repeated call never reminds twice
        buttons = [
            ("🚀 Ship it", button(Intent.SHIP, pending.id)),
            ("🗑 Discard", button(Intent.DISCARD, pending.id)),
        ]
        text = render("preview_reminder", url=pending.url, span=span(expires_in_s))
        await deps.chat.send(chat_id, text, buttons)
    return {"state": "waiting"}


async def expire(deps: Deps, chat_id: int, preview_id: str, waited_s: float) -> dict:
    state = deps.store.load_chat(chat_id)
    pending = state.pending
    if pending is None or pending.id != preview_id:
        return {"state": "gone"}
    state.pending = None
    state.context_note = (
        "The requester's last preview expired unanswered and was dropped; "
        "the repository is back to the live version."
    )
    deps.store.save_chat(state)
    # The branch goes; the build stays in hosting (builds/<id>/) for history.
    repo = deps.repo_for(chat_id)
    if (repo.path / ".git").exists():
        await blocking(repo.delete_branch, pending.branch)
    if pending.message_id:
        await deps.chat.drop_buttons(chat_id, pending.message_id)
    await deps.chat.send(chat_id, render("preview_expired", span=span(waited_s)))
    return {"state": "expired"}


async def answer(deps: Deps, work: Work, call: dict) -> dict:
    """Dispatch one lifecycle call; raises BadCall for anything malformed."""
    if not isinstance(call, dict) or not isinstance(call.get("chat_id"), int):
        raise BadCall("a lifecycle call needs an op and an integer chat_id")
    op, chat_id = call.get("op"), call["chat_id"]
    if op == "status":
        state = deps.store.load_chat(chat_id)
        accepted = deps.store.accepted(chat_id)
        return request_status(state, str(call.get("request_id", "")), work, accepted)
    if op == "remind":
        return await remind(deps, chat_id, str(call.get("preview_id")), call.get("expires_in_s", 0))
    if op == "expire":
        return await expire(deps, chat_id, str(call.get("preview_id")), call.get("waited_s", 0))
    raise BadCall(f"unknown lifecycle op {op!r}")
