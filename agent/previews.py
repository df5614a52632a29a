"""The preview message: its text and buttons, and what happens to the one it replaces."""

from __future__ import annotations

from telegram.error import BadRequest

from agent.context import Deps
from agent.intents import Intent, button
from agent.messages import Raw, clip, render
from agent.state import ChatState, Preview


def preview_buttons(preview_id: str) -> list[tuple]:
    """Ship it styled as the positive action, Discard as the destructive one (Bot API 9.4)."""
    return [
        ("🚀 Ship it", button(Intent.SHIP, preview_id), "success"),
        ("✏️ Change something", button(Intent.CHANGE, preview_id)),
        ("🗑 Discard", button(Intent.DISCARD, preview_id), "danger"),
    ]


def preview_text(deps: Deps, preview: Preview, template: str = "preview") -> str:
    text = render(template, summary=clip(preview.summary), checks=preview.checks, url=preview.url)
    if not deps.isolation.boxed:
        text = Raw(text + "\n\n" + render("unsandboxed_note"))
    return Raw(text + "\n\n" + render("demo_banner")) if deps.settings.demo_model else text


async def offer(
    deps: Deps, state: ChatState, preview: Preview, template: str = "preview", note: str = ""
) -> None:
    """Send `preview` with its buttons (and `note`, what became of its pictures, and what was
    worked out about the app the first time); it becomes the one waiting, and the older one is
    marked replaced (its link and buttons go: it can no longer be shipped)."""
    old = state.pending
    text = preview_text(deps, preview, template)
    if note:
        text = Raw(text + "\n" + note)
    if preview.setup and preview.setup != state.told_setup:
        text = Raw(text + "\n\n" + render("inferred_setup", notes=preview.setup))
        state.told_setup = preview.setup
    preview.message_id = await deps.chat.send(
        state.chat_id, text, preview_buttons(preview.id), link_preview=preview.url
    )
    state.pending = preview
    deps.store.save_chat(state)
    if old is not None:
        await mark_replaced(deps, state.chat_id, old)


async def mark_replaced(deps: Deps, chat_id: int, old: Preview, template: str = "replaced") -> None:
    if not old.message_id:
        return
    text = render(template, request=clip(old.request, 120))
    try:
        await deps.chat.edit(chat_id, old.message_id, text)
    except BadRequest:  # too old or gone: at least its buttons must not work any more
        await deps.chat.drop_buttons(chat_id, old.message_id)
