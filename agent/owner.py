"""The owner in the loop: ships, undos, restores and failures reported to the owner's chat,
a daily digest when anything shipped, and word when the daily spend cap stops requests.

Optional: with no SHIPIT_OWNER_CHAT_ID nothing is sent. Events are kept per chat
(chats/<id>/owner.json, one writer per chat); the digest reads them all. With no scheduler in
the runtime, the digest for earlier days goes out with the first activity of a new day.
A message that cannot reach the owner (they never opened the bot) is logged, never fatal.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from telegram.error import TelegramError

from agent.messages import Raw, clip, render
from agent.spend import day_of, usd
from agent.state import write_json_atomic

log = logging.getLogger(__name__)

_HOSTED = re.compile(
    r"^(?:https://|ssh://git@|git@)(github\.com|gitlab\.com)[:/]([\w.-]+/[\w.-]+?)(?:\.git)?/?$"
)


def diff_url(repo_url: str, base: str | None, commit: str) -> str | None:
    """A web link to the change where the host is known (GitHub, GitLab), else None (pure)."""
    match = _HOSTED.match(repo_url.strip())
    if not match:
        return None
    host, path = match.groups()
    sep = "/-/" if host == "gitlab.com" else "/"
    if base:
        return f"https://{host}/{path}{sep}compare/{base}...{commit}"
    return f"https://{host}/{path}{sep}commit/{commit}"


@dataclass
class Event:
    at: float
    kind: str  # "shipped", "undone", "restored", "failed"
    by: str
    what: str
    commit: str = ""


def _events_path(deps, chat_id: int) -> Path:
    return deps.store.chat_dir(chat_id) / "owner.json"


def _marker_path(deps) -> Path:
    return deps.store.workspace / "app" / "owner.json"


def _load(path: Path) -> list[Event]:
    if not path.exists():
        return []
    return [Event(**e) for e in json.loads(path.read_text(encoding="utf-8"))]


def _remember(deps, chat_id: int, event: Event) -> None:
    path = _events_path(deps, chat_id)
    events = [e for e in _load(path) if event.at - e.at < 8 * 86400] + [event]
    write_json_atomic(path, [asdict(e) for e in events])


async def _tell(deps, text: str) -> None:
    owner = deps.settings.owner_chat_id
    if owner is None:
        return
    try:
        await deps.chat.send(owner, text)
    except TelegramError as exc:
        log.warning("could not reach the owner's chat %s: %s", owner, exc)


def _who(state) -> str:
    return state.requester or f"chat {state.chat_id}"


async def report(deps, state, kind: str, what: str, commit: str = "", base: str = "") -> None:
    """One message to the owner about a ship, undo or restore (and remember it for the digest)."""
    if deps.settings.owner_chat_id is None:
        return
    _remember(deps, state.chat_id, Event(time.time(), kind, _who(state), what[:200], commit))
    link = diff_url(deps.settings.repo_url, base or None, commit) if commit else None
    text = render(
        f"owner_{kind}",
        by=_who(state),
        what=clip(what, 300),
        commit=commit[:10],
        link=Raw(render("owner_diff_link", url=link)) if link else "",
    )
    if deps.settings.owner_chat_id != state.chat_id:  # the owner saw it happen already
        await _tell(deps, text)
    await digest_if_due(deps)


async def failed(deps, state, request: str, told: str) -> None:
    """Summarize a failure the requester saw."""
    if deps.settings.owner_chat_id is None or deps.settings.owner_chat_id == state.chat_id:
        return
    plain = re.sub(r"<[^>]+>", "", told)
    _remember(deps, state.chat_id, Event(time.time(), "failed", _who(state), request[:200]))
    await _tell(
        deps,
        render("owner_failed", by=_who(state), what=clip(request, 200), told=clip(plain, 400)),
    )


async def cap_reached(deps, state, spent: float, cap: float) -> None:
    """Tell the owner once a day that the cap stopped a request."""
    if deps.settings.owner_chat_id is None:
        return
    marker = _marker(deps)
    today = day_of(time.time())
    if marker.get("cap_told") == today:
        return
    marker["cap_told"] = today
    write_json_atomic(_marker_path(deps), marker)
    await _tell(deps, render("owner_cap", by=_who(state), spent=usd(spent), cap=usd(cap)))


def _marker(deps) -> dict:
    path = _marker_path(deps)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def digest_lines(events: list[Event], since_day: str, today: str) -> dict[str, list[Event]]:
    """Events of the days after `since_day` and before `today`, by day; only days with a ship
    (pure)."""
    days: dict[str, list[Event]] = {}
    for event in sorted(events, key=lambda e: e.at):
        day = day_of(event.at)
        if since_day < day < today:
            days.setdefault(day, []).append(event)
    return {d: es for d, es in days.items() if any(e.kind == "shipped" for e in es)}


async def digest_if_due(deps) -> None:
    """Send the digest of earlier days, once, if anything shipped on them."""
    if deps.settings.owner_chat_id is None:
        return
    marker = _marker(deps)
    today = day_of(time.time())
    if marker.get("digest_day") == today:
        return
    since = marker.get("digest_day") or "0000-00-00"
    chats = deps.store.workspace / "chats"
    events = [e for d in chats.iterdir() for e in _load(d / "owner.json")] if chats.is_dir() else []
    marker["digest_day"] = today
    write_json_atomic(_marker_path(deps), marker)
    for day, day_events in digest_lines(events, since, today).items():
        lines = [
            render("owner_digest_line", kind=_KIND[e.kind], by=e.by, what=clip(e.what, 120))
            for e in day_events
        ]
        shipped = sum(e.kind == "shipped" for e in day_events)
        text = render("owner_digest", day=day, shipped=shipped, lines=Raw("\n".join(lines)))
        await _tell(deps, text)


_KIND = {"shipped": "🚀", "undone": "↩️", "restored": "⏪", "failed": "⚠️"}
