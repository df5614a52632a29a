"""One chat's journey: a request becomes an edit, checked, built and previewed; or an answer.

agent/app.py parses and routes each update; `dispatch` acts on it. A request's work is
agent/pipeline.py, shown on a status card here. Ship, undo and discard are in agent/shipping.py;
they are deterministic and involve no model.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager

from telegram import Update

from agent import (
    budget,
    history,
    owner,
    photos,
    previews,
    replies,
    screenshots,
    shipping,
)
from agent.chat import StatusCard
from agent.context import Deps, blocking
from agent.intents import Intent, Parsed, button
from agent.messages import Raw, render
from agent.pipeline import PHASES, Pipeline, Progress, RequestFailed
from agent.screening import ScreeningMisconfigured, ScreeningUnavailable
from agent.state import ChatState, request_id_for

log = logging.getLogger(__name__)

# The card's clock moves at least this often while work goes on: well inside Telegram's edit limits.
TICK_S = 10.0


class Journey:
    """Acts on parsed updates for any chat; agent/app.py runs at most one piece of work per chat
    at a time (quick answers may run beside it and only read the chat's state)."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.albums = photos.Albums()  # app.py hands later album members to it
        self.pipeline = Pipeline(deps)

    def note_sender(self, state: ChatState, update: Update | None) -> None:
        """Who writes in this chat, for history and the owner (no await: the router must join
        the chat's queue before anything awaits, or a later message could overtake)."""
        user = update.effective_user if update is not None else None
        if user is not None and user.first_name and user.first_name != state.requester:
            state.requester = user.first_name
            self.deps.store.save_chat(state)

    async def owner_digest(self) -> None:
        """The owner's daily digest, when one is due (best effort, beside the conversation)."""
        await owner.digest_if_due(self.deps)

    async def close_out_restart(self, state: ChatState) -> None:
        """Only a crash or restart leaves `busy_since` set: request()'s finally always clears it."""
        if state.busy_since is None:
            return
        await self.deps.chat.send(
            state.chat_id, render("restarted", request=state.busy_request or "")
        )
        state.busy_since = state.busy_request = None
        self.deps.store.save_chat(state)

    async def dispatch(self, state: ChatState, parsed: Parsed, update: Update | None) -> None:
        """Act on one parsed update; agent/app.py decides which of these queue (see WORK)."""
        deps, chat_id = self.deps, state.chat_id
        match parsed.intent:
            case Intent.START:
                user = update.effective_user if update else None
                name = user.first_name if user and user.first_name else "there"
                text = render("start", name=name, app=_app_name(deps.settings.repo_url))
                if deps.settings.demo_model:
                    text = Raw(text + "\n\n" + render("demo_banner"))
                await deps.chat.send(chat_id, text)
            case Intent.HELP:
                await deps.chat.send(chat_id, render("help"))
            case Intent.STATUS:
                await replies.status(deps, state)
            case Intent.AFFIRM if state.pending:
                await replies.confirm_ship(deps, state)
            case Intent.NEGATE if state.pending:
                await replies.ask_what_to_change(deps, state)
            case Intent.AFFIRM:  # the preview went in the moment since the message came
                await deps.chat.send(chat_id, render("nothing_to_ship"))
            case Intent.NEGATE:
                await deps.chat.send(chat_id, render("change_prompt"))
            case Intent.UNKNOWN:
                await replies.unknown_button(deps, state)
            case Intent.REDO:
                text = shipping.take_redo(state, parsed.preview_id)
                if text is None:
                    await deps.chat.send(chat_id, render("nothing_to_redo"))
                else:
                    await self.request(state, text)
            case Intent.SHIP:
                await shipping.ship(deps, state, parsed.preview_id)
            case Intent.UNDO:
                await shipping.undo(deps, state, parsed.preview_id)
            case Intent.DISCARD:
                await shipping.discard(deps, state, parsed.preview_id)
            case Intent.CHANGE:
                await deps.chat.send(chat_id, render("change_prompt"))
            case Intent.REQUEST:
                await self.request(state, parsed.text, request_id=request_id_for(update.update_id))
            case Intent.HISTORY:
                await history.show(deps, state)
            case Intent.RESTORE:
                await history.restore(deps, state, parsed.preview_id)
            case Intent.COST:
                await deps.chat.send(chat_id, await blocking(budget.cost_message, deps))
            case Intent.PHOTO if update is not None and update.message is not None:
                folder = deps.store.chat_dir(chat_id) / "photos"
                caption, images = await photos.receive(
                    deps.chat, self.albums, update.message, folder
                )
                await self.request(state, photos.request_text(caption), images, caption)

    async def request(
        self, state: ChatState, text: str, images=(), caption: str = "", request_id: str = ""
    ) -> None:
        """Edit → check (bounded fix rounds) → build → publish → preview message."""
        deps, chat_id = self.deps, state.chat_id
        if not deps.may_run_agent:
            # Fail closed: no OS box could be built here and the owner has not opted out.
            await deps.chat.send(chat_id, render("no_sandbox"))
            return
        if not await budget.under_cap(deps, state):
            return
        if deps.screen is not None and not await self._screened_ok(chat_id, text):
            return
        progress = Progress(text, stop_data=button(Intent.STOP))
        card = StatusCard(deps.chat, chat_id, progress.render, deps.settings.status_edit_interval_s)
        await card.show()
        state.busy_since, state.busy_request = time.time(), text
        state.busy_id, state.busy_card_id = request_id or None, card.message_id or 0
        deps.store.save_chat(state)
        pending_note = render("pending_note") if state.pending else ""
        try:
            async with _ticking(card):
                preview = await self.pipeline.make_preview(
                    state, text, progress, card, images, caption
                )
        except RequestFailed as exc:
            progress.failed, progress.outcome = True, "failed"
            await card.refresh(force=True)
            await deps.chat.send(chat_id, exc.message)
            await owner.failed(deps, state, text, exc.message)
            return
        except asyncio.CancelledError:
            progress.outcome = "stopped"  # the phase it stopped in is not a failure
            await card.refresh(force=True)
            await deps.chat.send(chat_id, render("stopped", pending_note=pending_note))
            raise
        except Exception:
            log.exception("request failed")
            progress.failed, progress.outcome = True, "failed"
            await card.refresh(force=True)
            phase = PHASES[min(progress.phase, len(PHASES) - 1)].lower()
            reason = render("failed_while", phase=phase)
            told = render("failed", pending_note=pending_note, reason=reason)
            await deps.chat.send(chat_id, told)
            await owner.failed(deps, state, text, told)
            return
        finally:
            state.busy_since = state.busy_request = None
            state.busy_id, state.busy_card_id = None, 0
            deps.store.save_chat(state)
        if preview is None:
            return
        receipt_note = await screenshots.send_receipt(deps, chat_id, preview)
        progress.phase, progress.outcome = len(PHASES), "done"
        await card.refresh(force=True)
        await previews.offer(deps, state, preview, note=receipt_note)

    async def _screened_ok(self, chat_id: int, text: str) -> bool:
        """Input screening (optional): a refusal, or an honest 'can't check now', loses nothing."""
        try:
            if await blocking(self.deps.screen.allows, text):
                return True
            template = "screened"
        except ScreeningUnavailable:
            template = "screening_unavailable"
        except ScreeningMisconfigured:
            template = "screening_misconfigured"
        await self.deps.chat.send(chat_id, render(template))
        return False


@asynccontextmanager
async def _ticking(card: StatusCard):
    """Keep the card's clock moving while the block runs; stop before its final edit."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(TICK_S)
            await card.refresh()

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()


def _app_name(repo_url: str) -> str:
    name = repo_url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    return name or "your app"
