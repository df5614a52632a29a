"""Per-chat and per-app state as JSON files under the workspace root, written atomically.

One chat maps to one runtime session, so each chat file has one writer. The release history is
app-wide (production is shared); it is only written by the short ship and undo steps.
S3 Files is NFS: no SQLite, just whole-file replace, which close-to-open consistency handles.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEDUPE_WINDOW_S = 48 * 3600  # Telegram keeps updates 24 h; update ids may restart after a week.


@dataclass
class Preview:
    """A built, published change waiting for the requester's word."""

    id: str
    branch: str
    commit: str
    url: str
    summary: str
    request: str
    created_at: float
    checks: str = ""
    message_id: int = 0  # the preview message, so its buttons can be removed once it is stale
    page: str = ""  # the page its pictures show, relative to the app's root ("" = start page)
    setup: str = ""  # what Shipit worked out from the app's files (no .shipit.toml), in words
    request_id: str = ""  # the request that made it (request_id_for), for the lifecycle's calls
    reminded: bool = False  # the lifecycle's reminder went out (at most once)


@dataclass
class ChatState:
    """What Shipit remembers about one chat."""

    chat_id: int
    claude_session: str | None = None
    pending: Preview | None = None
    seen_updates: dict[str, float] = field(default_factory=dict)
    busy_since: float | None = None
    busy_request: str | None = None
    # Told to Claude with the next request: what happened outside the conversation (ship, undo).
    context_note: str | None = None
    requester: str = ""  # who writes in this chat (first name), for history and the owner
    told_setup: str = ""  # the worked-out setup last told to this chat (told once, and on change)
    # A preview that clashed with a newer main: its request, for the "Redo it" button.
    redo_preview: str | None = None
    redo_request: str | None = None
    # The running request's id and status card, so a crash can be closed out (agent/recovery.py).
    busy_id: str | None = None
    busy_card_id: int = 0
    interrupted_id: str | None = None  # the last request recovery closed out (told once)

    def seen(self, update_id: int, now: float | None = None) -> bool:
        """Record an update id; True when it was already handled (a webhook retry)."""
        self.seen_updates, again = record_update(self.seen_updates, update_id, now)
        return again


def record_update(
    seen: dict[str, float], update_id: int, now: float | None = None
) -> tuple[dict[str, float], bool]:
    """Pure: the window after recording `update_id`, and whether it was already in it."""
    now = time.time() if now is None else now
    window = {k: t for k, t in seen.items() if now - t < DEDUPE_WINDOW_S}
    key = str(update_id)
    if key in window:
        return window, True
    window[key] = now
    return window, False


def request_id_for(update_id: int) -> str:
    """The id of the change request an update starts (what the lifecycle supervises)."""
    return f"u{update_id}"


@dataclass
class Release:
    """One version that was live: the build it served and the main commit it came from."""

    build_id: str
    commit: str
    at: float
    what: str


def write_json_atomic(path: Path, data: object) -> None:
    """Replace `path` in one step, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class StateStore:
    """Reads and writes chat and release state under one workspace root."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace

    def chat_dir(self, chat_id: int) -> Path:
        return self.workspace / "chats" / str(chat_id)

    def load_chat(self, chat_id: int) -> ChatState:
        path = self.chat_dir(chat_id) / "state.json"
        if not path.exists():
            return ChatState(chat_id=chat_id)
        data = json.loads(path.read_text(encoding="utf-8"))
        pending = data.pop("pending", None)
        state = ChatState(**data)
        state.pending = Preview(**pending) if pending else None
        return state

    def save_chat(self, state: ChatState) -> None:
        write_json_atomic(self.chat_dir(state.chat_id) / "state.json", asdict(state))

    def first_delivery(self, chat_id: int, update_id: int) -> bool:
        """Record an update as accepted; False for a redelivery (a webhook retry).

        Its own file, not the chat state: updates are accepted while a request holds (and
        later saves) the chat state, which must not overwrite what was accepted meanwhile.
        """
        path = self.chat_dir(chat_id) / "seen.json"
        seen = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        seen, again = record_update(seen, update_id)
        if not again:
            write_json_atomic(path, seen)
        return not again

    def accepted(self, chat_id: int) -> dict[str, float]:
        """The update ids accepted for this chat (first_delivery's record)."""
        path = self.chat_dir(chat_id) / "seen.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    @property
    def _releases_path(self) -> Path:
        return self.workspace / "app" / "releases.json"

    def releases(self) -> list[Release]:
        """Live history, oldest first; the last one is what production serves."""
        if not self._releases_path.exists():
            return []
        return [Release(**r) for r in json.loads(self._releases_path.read_text(encoding="utf-8"))]

    def save_releases(self, releases: list[Release]) -> None:
        write_json_atomic(self._releases_path, [asdict(r) for r in releases])
