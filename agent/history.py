"""What went live and when, and putting any of those versions live again (no model involved).

The undo stack (StateStore.releases) shrinks on undo; this history does not: it lists every
version that was live, so "what changed?" can answer and any of them can be restored. A restore
switches production to that very build (nothing is rebuilt) and adds a commit on main whose
files are that version's, as undo does.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass

from agent import owner
from agent.context import Deps, blocking
from agent.hosting import HostingError
from agent.intents import Intent, button
from agent.messages import Raw, clip, render
from agent.repo import GitError
from agent.state import ChatState, Release, write_json_atomic

log = logging.getLogger(__name__)

SHOWN = 8  # releases listed by /history; Telegram shows a short list best


@dataclass
class Entry:
    """One version that went live: what was asked, by whom, when, and its build and commit."""

    build_id: str
    commit: str
    at: float
    what: str
    by: str = ""
    summary: str = ""


def _path(deps: Deps):
    return deps.store.workspace / "app" / "history.json"


def load(deps: Deps) -> list[Entry]:
    """Oldest first."""
    path = _path(deps)
    if not path.exists():
        return []
    return [Entry(**e) for e in json.loads(path.read_text(encoding="utf-8"))]


def record(deps: Deps, releases: list[Release], by: str = "", summary: str = "") -> None:
    """Add shipped releases not yet in the history (the baseline, then the new one)."""
    entries = load(deps)
    known = {e.build_id for e in entries}
    for release in releases:
        if release.build_id not in known:
            last = release is releases[-1]
            entries.append(
                Entry(
                    release.build_id,
                    release.commit,
                    release.at,
                    release.what,
                    by if last else "",
                    summary if last else "",
                )
            )
            known.add(release.build_id)
    write_json_atomic(_path(deps), [asdict(e) for e in entries])


def when(at: float, now: float) -> str:
    """Plain words for a moment: 'just now', '5 min ago', '3 h ago', else the date."""
    seconds = max(0, now - at)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return time.strftime("%d %b %Y", time.gmtime(at))


def listing(entries: list[Entry], live: str | None, now: float) -> tuple[str, list[tuple]]:
    """The /history message and one button per version that is not live (pure)."""
    if not entries:
        return render("history_empty"), []
    lines, buttons = [], []
    shown = list(reversed(entries))[:SHOWN]
    for number, entry in enumerate(shown, start=1):
        lines.append(
            render(
                "history_line",
                number=number,
                what=clip(entry.what, 90),
                by=f" — {entry.by}" if entry.by else "",
                when=when(entry.at, now),
                live=Raw(render("history_live")) if entry.build_id == live else "",
            )
        )
        if entry.build_id != live:
            label = f"↩️ Put #{number} live again"
            buttons.append((label, button(Intent.RESTORE, entry.build_id), "primary"))
    return render("history", lines=Raw("\n".join(lines))), buttons


async def show(deps: Deps, state: ChatState) -> None:
    live = await blocking(deps.hosting.live_build)
    text, buttons = listing(load(deps), live, time.time())
    await deps.chat.send(state.chat_id, text, buttons)


async def restore(deps: Deps, state: ChatState, build_id: str | None) -> Entry | None:
    """Put the version `build_id` live again; returns it, or None when nothing changed."""
    chat_id = state.chat_id
    entry = next((e for e in load(deps) if e.build_id == build_id), None)
    if entry is None:
        await show(deps, state)
        return None
    if await blocking(deps.hosting.live_build) == build_id:
        await deps.chat.send(chat_id, render("restore_already_live", what=clip(entry.what, 120)))
        return None
    repo = deps.repo_for(chat_id)
    message = f"Restore: put “{entry.what[:60]}” live again\n\nShipit-Build: {entry.build_id}"
    try:
        restore_commit = await blocking(repo.restore_main_to, entry.commit, message)
        url = await blocking(deps.hosting.promote, entry.build_id)
    except (GitError, HostingError):
        log.exception("restore failed")
        await deps.chat.send(chat_id, render("restore_failed"))
        return None
    releases = deps.store.releases()
    releases.append(Release(entry.build_id, entry.commit, time.time(), entry.what))
    deps.store.save_releases(releases)
    state.context_note = (
        f"The requester put an earlier version live again (“{entry.what[:80]}”); the "
        "repository is at that version now."
    )
    deps.store.save_chat(state)
    undo = [("↩️ Undo", button(Intent.UNDO, entry.build_id), "danger")]
    await deps.chat.send(chat_id, render("restored", what=clip(entry.what, 120), url=url), undo)
    await owner.report(deps, state, "restored", entry.what, restore_commit)
    return entry
