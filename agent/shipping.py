"""The deterministic steps, no model involved: ship a preview, undo a release, discard a preview."""

from __future__ import annotations

import logging
import time

from agent import history, owner
from agent.commands import BuildError, release
from agent.context import Deps, blocking
from agent.hosting import HostingError
from agent.intents import Intent, button
from agent.messages import render
from agent.repo import GitError, MainMovedError
from agent.repo_config import load_repo_config
from agent.state import ChatState, Release

log = logging.getLogger(__name__)


async def ship(deps: Deps, state: ChatState, preview_id: str | None) -> None:
    """Put exactly the previewed commit on main and exactly its build live."""
    chat_id, pending = state.chat_id, state.pending
    if pending is None:
        await deps.chat.send(chat_id, render("nothing_to_ship"))
        return
    if preview_id and preview_id != pending.id:
        await deps.chat.send(chat_id, render("stale_preview", url=pending.url))
        return
    await deps.chat.send(chat_id, render("shipping"))
    repo = deps.repo_for(chat_id)
    try:
        origin_main = await blocking(repo.sync)
        if not repo.is_ancestor(origin_main, pending.commit):
            raise MainMovedError(["ship"], 1, f"main is at {origin_main}")
        releases = deps.store.releases()
        if not releases:
            releases = [await _baseline(deps, repo, chat_id, origin_main)]
        # Fast-forward: main becomes the very commit the requester previewed.
        await blocking(repo.push, pending.commit)
        url = await blocking(deps.hosting.promote, pending.id)
    except MainMovedError:
        await deps.chat.send(chat_id, render("ship_conflict"))
        return
    except (GitError, HostingError, BuildError) as exc:
        log.exception("ship failed")
        await deps.chat.send(chat_id, render("ship_failed", reason=_reason(exc)))
        return
    releases.append(Release(pending.id, pending.commit, time.time(), pending.request))
    deps.store.save_releases(releases)
    history.record(deps, releases, state.requester, pending.summary)
    state.pending = None
    state.context_note = "The change above is now live. The repository is at the live version."
    deps.store.save_chat(state)
    if pending.message_id:
        await deps.chat.drop_buttons(chat_id, pending.message_id)
    undo_button = [("↩️ Undo", button(Intent.UNDO, pending.id), "danger")]
    await deps.chat.send(chat_id, render("shipped", url=url), undo_button)
    await owner.report(deps, state, "shipped", pending.request, pending.commit, origin_main)


async def undo(deps: Deps, state: ChatState, build_id: str | None = None) -> None:
    """Production back to the release before; main gets a commit restoring that version's files.

    `build_id` comes from an Undo button: it undoes that release only while it is still live.
    """
    chat_id = state.chat_id
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
        await deps.chat.send(chat_id, render("ship_failed", reason=_reason(exc)))
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
    if isinstance(exc, HostingError):
        return "The website host refused the update."
    return "I couldn't save the change to the app's code."
