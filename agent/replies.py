"""Quick answers that need no work: status in words, yes/no about a preview, and every update
kind that is not a text or a button (edits, photos, groups, unreadable fields).

`other_kind` is the one place that decides what non-text updates get; a photo request later
plugs in there.
"""

from __future__ import annotations

import time

from agent.context import Deps, blocking
from agent.intents import Intent, button
from agent.messages import Raw, clip, render
from agent.state import ChatState
from agent.updates import Incoming, Kind


async def other_kind(deps: Deps, incoming: Incoming) -> None:
    """Answer an update that is neither typed text nor a button of a private chat."""
    chat_id = incoming.chat_id
    if incoming.callback_id is not None:
        await deps.chat.answer_button(incoming.callback_id)
    match incoming.kind:
        case Kind.EDITED:
            await deps.chat.send(chat_id, render("edited"))
        case Kind.GROUP:
            await deps.chat.send(chat_id, render("group"))
        case Kind.MALFORMED:
            await deps.chat.send(chat_id, render("malformed"))
        case Kind.MEDIA if incoming.media:
            await deps.chat.send(chat_id, render("media", what=incoming.media))
        case _:
            await deps.chat.send(chat_id, render("not_text"))


async def confirm_ship(deps: Deps, state: ChatState) -> None:
    """'yes' / '👍' while a preview waits: offer its Ship it button, never start a new job."""
    pending = state.pending
    buttons = [("🚀 Ship it", button(Intent.SHIP, pending.id))]
    await deps.chat.send(state.chat_id, render("confirm_ship", url=pending.url), buttons)


async def ask_what_to_change(deps: Deps, state: ChatState) -> None:
    """'no' / 'not like that' while a preview waits."""
    buttons = [("🗑 Discard", button(Intent.DISCARD, state.pending.id))] if state.pending else None
    await deps.chat.send(state.chat_id, render("negative"), buttons)


async def unknown_button(deps: Deps, state: ChatState) -> None:
    await deps.chat.send(state.chat_id, render("unknown_button"))


async def status(deps: Deps, state: ChatState, now: float | None = None) -> None:
    """What is live and what is waiting, in words, with links."""
    now = time.time() if now is None else now
    live_id = await blocking(deps.hosting.live_build)
    releases = deps.store.releases()
    url = deps.hosting.production_url
    if live_id is None:
        live = render("status_live_none")
    elif releases and releases[-1].build_id == live_id and not live_id.startswith("base-"):
        last = releases[-1]
        live = render("status_live", what=clip(last.what, 80), ago=ago(now - last.at), url=url)
    else:
        live = render("status_live_original", url=url)
    if state.pending:
        pending = render(
            "status_pending", request=clip(state.pending.request, 80), url=state.pending.url
        )
    else:
        pending = render("status_pending_none")
    working = (
        render("status_working", request=clip(state.busy_request, 80))
        if (state.busy_request)
        else ""
    )
    await deps.chat.send(
        state.chat_id, render("status", live=live, pending=pending, working=Raw(working))
    )


def ago(seconds: float) -> str:
    """'just now', '5 minutes ago', '3 hours ago', '2 days ago'."""
    seconds = max(0, int(seconds))
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"
