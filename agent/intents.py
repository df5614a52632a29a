"""What a requester's message or button means, decided without I/O (no model involved)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Intent(Enum):
    START = "start"
    HELP = "help"
    STATUS = "status"
    SHIP = "ship"
    UNDO = "undo"
    DISCARD = "discard"
    CHANGE = "change"  # the "Change something" button: ask what to change
    STOP = "stop"
    REQUEST = "request"  # anything else: a change request for the agent
    HISTORY = "history"  # what went live, with a button per version
    RESTORE = "restore"  # put an earlier version live again (button: restore:<build id>)
    COST = "cost"  # this month's model spend


@dataclass(frozen=True)
class Parsed:
    intent: Intent
    preview_id: str | None = None  # which preview a button was pressed on
    text: str = ""


_PHRASES = {
    Intent.SHIP: {"ship it", "ship", "shipit", "ship this", "go live", "publish it", "deploy it"},
    Intent.UNDO: {"undo", "roll back", "rollback", "revert", "undo it", "go back"},
    Intent.DISCARD: {"discard", "discard it", "drop it", "throw it away", "cancel"},
    Intent.STATUS: {"status", "what's live", "whats live"},
    Intent.STOP: {"stop"},
    Intent.HELP: {"help", "?"},
    Intent.HISTORY: {"history", "what changed", "what changed?", "what's changed", "changes"},
    Intent.COST: {"cost", "costs", "spend", "how much did it cost"},
}
_COMMANDS = {f"/{i.value}": i for i in Intent if i not in (Intent.REQUEST, Intent.CHANGE)}


def normalise(text: str) -> str:
    """Lower case, no punctuation or emoji at the ends, single spaces: 'Ship it!!' -> 'ship it'."""
    text = re.sub(r"\s+", " ", text.strip().lower())
    return re.sub(r"^[^\w/?']+|[^\w?']+$", "", text).strip()


def parse_text(text: str) -> Parsed:
    """A typed message: a fixed phrase or command, or else a change request."""
    norm = normalise(text)
    command = norm.split("@", 1)[0].split(" ", 1)[0]  # "/ship@shipit_bot" in group chats
    if command in _COMMANDS:
        return Parsed(_COMMANDS[command])
    for intent, phrases in _PHRASES.items():
        if norm in phrases:
            return Parsed(intent)
    return Parsed(Intent.REQUEST, text=text.strip())


def button(intent: Intent, preview_id: str = "") -> str:
    """callback_data for a button; Telegram allows 64 bytes, ids are short."""
    data = f"{intent.value}:{preview_id}"
    assert len(data.encode()) <= 64, data
    return data


def parse_callback(data: str) -> Parsed:
    """A pressed button; unknown data becomes HELP so the requester still gets an answer."""
    name, _, preview_id = (data or "").partition(":")
    try:
        intent = Intent(name)
    except ValueError:
        return Parsed(Intent.HELP)
    return Parsed(intent, preview_id or None)
