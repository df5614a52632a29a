"""The deterministic steps, no model involved: ship a preview, undo a release, discard a preview."""

from __future__ import annotations

import asyncio
import logging
import time

from telegram.error import BadRequest

from agent import history, owner, previews, rebase, replies
from agent.commands import BuildError, release
from agent.context import Deps, blocking
from agent.hosting import HostingError
from agent.intents import NO_PREVIEW, Intent, button
from agent.messages import render
from agent.repo import GitError, PushRejectedError
from agent.repo_config import load_repo_config
from agent.state import ChatState, Preview, Release

log = logging.getLogger(__name__)


# Production and main are app-wide: one ship or undo at a time in this process. Across
# processes the push is the compare-and-swap (a non-fast-forward push is refused), and a refused
# push is handled exactly like "main moved".
SHIP_LOCK = asyncio.Lock()


class _Moved(Exception):
    """main is no longer an ancestor of the preview (another ship, or someone pushed)."""

    def __init__(self, main: str) -> None:
        super().__init__(main)
        self.main = main


async def ship(deps: Deps, state: ChatState, preview_id: str | None) -> None:
    """Put exactly the previewed commit on main and exactly its build live; if main moved since
    the preview, replay the change on the new main and offer that as a new preview instead."""
    chat_id, pending = state.chat_id, state.pending
    if pending is None:
        await deps.chat.send(chat_id, render("nothing_to_ship"))
        return
    if preview_id == NO_PREVIEW:  # typed before this preview existed: confirm the one on screen
        await replies.confirm_ship(deps, state)
        return
    if preview_id and preview_id != pending.id:
        await deps.chat.send(chat_id, render("stale_preview", url=pending.url))
        return
    note = await deps.chat.send(chat_id, render("shipping"))
    try:
        async with SHIP_LOCK:
            url, origin_main = await _put_live(deps, state, pending)
    except _Moved as moved:
        await _say(deps, chat_id, note, render("ship_moved"))
        await _replay(deps, state, pending, moved.main, note)
        return
    except (GitError, HostingError, BuildError) as exc:
        log.exception("ship failed")
        await _say(deps, chat_id, note, render("ship_failed", reason=_reason(exc)))
        return
    history.record(deps, deps.store.releases(), state.requester, pending.summary)
    state.pending = None
    state.context_note = "The change above is now live. The repository is at the live version."
    deps.store.save_chat(state)
    if pending.message_id:
        await deps.chat.drop_buttons(chat_id, pending.message_id)
    undo_button = [("↩️ Undo", button(Intent.UNDO, pending.id), "danger")]
    await _say(deps, chat_id, note, render("shipped", url=url), undo_button)
    await owner.report(deps, state, "shipped", pending.request, pending.commit, origin_main)


async def _put_live(deps: Deps, state: ChatState, pending: Preview) -> tuple[str, str]:
    """Fast-forward main to the preview and promote its build; (live URL, main before)."""
    repo = deps.repo_for(state.chat_id)
    origin_main = await blocking(repo.sync)
    if not await blocking(repo.is_ancestor, origin_main, pending.commit):
        raise _Moved(origin_main)
    releases = deps.store.releases()
    if not releases:
        releases = [await _baseline(deps, repo, state.chat_id, origin_main)]
    try:
        # Fast-forward: main becomes the very commit the requester previewed.
        await blocking(repo.push, pending.commit)
    except PushRejectedError:
        origin_main = await blocking(repo.sync)
        if not await blocking(repo.is_ancestor, origin_main, pending.commit):
            raise _Moved(origin_main) from None  # lost a race with another writer of main
        raise
    url = await blocking(deps.hosting.promote, pending.id)
    releases.append(Release(pending.id, pending.commit, time.time(), pending.request))
    deps.store.save_releases(releases)
    return url, origin_main


async def _replay(deps: Deps, state: ChatState, old: Preview, new_main: str, note: int) -> None:
    """Main moved: the same change on the new main becomes the preview to approve."""
    chat_id = state.chat_id
    result = await rebase.replay(deps, chat_id, old, new_main)
    if isinstance(result, Preview):
        await previews.offer(deps, state, result, template="preview_rebased")
        return
    # It cannot go on as it is: drop it, and let a redo start from the new main (never from the
    # old preview, which would clash again on every try).
    state.pending = None
    state.redo_preview, state.redo_request = old.id, old.request
    state.context_note = (
        "The app's code changed after your last preview, and that preview no longer fits it, "
        "so it was dropped. The repository is at the newest version now; make the requester's "
        "change again on it."
    )
    deps.store.save_chat(state)
    await previews.mark_replaced(deps, chat_id, old, template="preview_clashed")
    reason = render(f"clash_{result.why}", detail=result.detail)
    buttons = [("🔁 Redo it on the new version", button(Intent.REDO, old.id))]
    await _say(deps, chat_id, note, render("ship_clash", reason=reason), buttons)


def take_redo(state: ChatState, preview_id: str | None) -> str | None:
    """The request to make again after a clash (once), or None when there is none to redo."""
    if not state.redo_request or (preview_id and preview_id != state.redo_preview):
        return None
    text = state.redo_request
    state.redo_preview = state.redo_request = None
    return text


async def _say(deps: Deps, chat_id: int, note: int, text: str, buttons=None) -> None:
    """Turn the "Putting it live…" note into the outcome, so it does not linger above it."""
    try:
        await deps.chat.edit(chat_id, note, text, buttons)
    except BadRequest:
        await deps.chat.send(chat_id, text, buttons)


async def undo(deps: Deps, state: ChatState, build_id: str | None = None) -> None:
    """Production back to the release before; main gets a commit restoring that version's files.

    `build_id` comes from an Undo button: it undoes that release only while it is still live.
    """
    chat_id = state.chat_id
    async with SHIP_LOCK:  # the release history and main are shared with every ship
        releases = deps.store.releases()
        if len(releases) < 2:
            await deps.chat.send(chat_id, render("nothing_to_undo"))
            return
        current, previous = releases[-1], releases[-2]
        if build_id and build_id != current.build_id:
            await deps.chat.send(chat_id, render("undo_not_live"))
            return
        repo = deps.repo_for(chat_id)
        try:
            undo_commit = await blocking(
                repo.restore_main_to,
                previous.commit,
                f"Undo: back to the version before “{current.what[:60]}”\n\nShipit-Build: {previous.build_id}",
            )
            url = await blocking(deps.hosting.promote, previous.build_id)
        except (GitError, HostingError) as exc:
            log.exception("undo failed")
            await deps.chat.send(chat_id, render("undo_failed", reason=_reason(exc)))
            return
        deps.store.save_releases(releases[:-1])
    state.context_note = (
        f"The requester undid the live change “{current.what[:80]}”; the repository is back to "
        "the version before it."
    )
    deps.store.save_chat(state)
    redo = [("↪️ Redo", button(Intent.RESTORE, current.build_id), "primary")]
    text = render("undone_named", what=current.what[:120], url=url)
    await deps.chat.send(chat_id, text, redo)
    await owner.report(deps, state, "undone", current.what, undo_commit)


async def discard(deps: Deps, state: ChatState, preview_id: str | None) -> None:
    chat_id, pending = state.chat_id, state.pending
    if pending is None or (preview_id and preview_id != pending.id):
        await deps.chat.send(chat_id, render("nothing_to_discard"))
        return
    state.pending = None
    state.context_note = (
        "The requester discarded the preview; the repository is back to the live version."
    )
    deps.store.save_chat(state)
    await blocking(deps.repo_for(chat_id).delete_branch, pending.branch)
    if pending.message_id:
        await deps.chat.drop_buttons(chat_id, pending.message_id)
    await deps.chat.send(chat_id, render("discarded"))


def baseline_build_id(main_commit: str) -> str:
    """The build id of main as it was before Shipit's first ship (undo goes back to it)."""
    return f"base-{main_commit[:12]}"


async def _baseline(deps: Deps, repo, chat_id: int, main_commit: str) -> Release:
    """Before the first ship, publish main's own build so that undo has somewhere to go back to."""
    build_id = baseline_build_id(main_commit)
    release_ = Release(build_id, main_commit, time.time(), "the version before Shipit")
    if await blocking(deps.hosting.has_build, build_id):
        return release_
    tree = await blocking(repo.worktree_at, main_commit, deps.store.chat_dir(chat_id) / "base")
    config = load_repo_config(tree)
    output, built = tree / config.output, None
    if config.install:
        result = await blocking(deps.run, config.install, tree, True)
        if not result.ok:
            raise BuildError(config.install, result)
    if config.build:
        built = await blocking(deps.run, config.build, tree, False, config.output)
        if not built.ok or built.artifact is None:
            raise BuildError(config.build, built)
        output = built.artifact
    try:
        await blocking(deps.hosting.publish, build_id, output)
    finally:
        if built is not None:
            release(built)
    return release_


def _reason(exc: Exception) -> str:
    """What failed, in words: the requester (or whoever set the bot up) can act on it."""
    if isinstance(exc, HostingError):
        return f"Switching the live site failed ({exc.problem})."
    if isinstance(exc, BuildError):
        return "Building the app's current live version (to keep for undo) failed."
    if isinstance(exc, PushRejectedError):
        return "The app's code host refused the change (does the deploy key have write access?)."
    return "I couldn't reach the app's code."
