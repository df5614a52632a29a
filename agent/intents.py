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
    REDO = "redo"  # after a clash with a newer main: make the same change again on it
    AFFIRM = "affirm"  # "yes", "👍" while a preview waits: confirm before shipping
    NEGATE = "negate"  # "no", "not like that" while a preview waits: ask what to change
    UNKNOWN = "unknown"  # a button whose data we do not know (an old or forged button)
    REQUEST = "request"  # anything else: a change request for the agent
    HISTORY = "history"  # what went live, with a button per version
    RESTORE = "restore"  # put an earlier version live again (button: restore:<build id>)
    COST = "cost"  # this month's model spend
    PHOTO = "photo"  # a photo or an album (with or without words): a change request


# Only buttons and context produce these; they have no /command.
_NO_COMMAND = (Intent.REQUEST, Intent.CHANGE, Intent.REDO, Intent.AFFIRM, Intent.NEGATE,
               Intent.UNKNOWN, Intent.PHOTO)  # fmt: skip


NO_PREVIEW = "-"  # preview_id of a typed "ship it" sent while no preview was waiting


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
_COMMANDS = {f"/{i.value}": i for i in Intent if i not in _NO_COMMAND}

# Short answers to "Happy with it?". Whole messages only: "yes but make it red" is a request.
# A few common non-English words too; emoji are compared with skin tones and VS16 removed.
AFFIRMATIVES = frozenset({
    "yes", "y", "yeah", "yea", "yep", "yup", "yes please", "ok", "okay", "k", "kk", "okey",
    "sure", "fine", "good", "great", "perfect", "nice", "cool", "awesome", "excellent",
    "looks good", "looks great", "looks fine", "looks perfect", "lgtm", "love it", "i love it",
    "do it", "go ahead", "go for it", "sounds good", "all good", "that's it", "thats it",
    "thanks", "thank you", "thx", "correct", "right", "exactly", "approved", "approve",
    "sí", "si", "oui", "ja", "jawohl", "da", "sim", "tak", "evet", "hai", "はい", "да", "是",
    "好", "好的", "نعم", "כן", "bien", "bueno", "vale", "genial", "parfait", "d'accord", "gut",
    "prima", "perfekt", "super", "👍", "👌", "✅", "✔", "🙌", "💯", "🔥", "❤", "😍", "🥳", "👏",
})  # fmt: skip
NEGATIVES = frozenset({
    "no", "n", "nope", "nah", "no thanks", "no thank you", "not like that", "not quite",
    "not really", "not that", "not good", "wrong", "that's wrong", "thats wrong", "not yet",
    "i don't like it", "i dont like it", "don't like it", "dont like it", "no way",
    "nein", "non", "não", "nao", "нет", "いいえ", "不", "不是", "לא", "لا", "nee",
    "👎", "❌", "🙅", "😕", "😞",
})  # fmt: skip
_EMOJI_NOISE = re.compile("[\ufe0f\U0001f3fb-\U0001f3ff]")


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


def _answer_key(text: str) -> str:
    """'Looks good!!' -> 'looks good'; '👍🏽' -> '👍'; a bare emoji survives normalise's trimming."""
    bare = _EMOJI_NOISE.sub("", text.strip().lower())
    return normalise(bare) or re.sub(r"\s+", "", bare)


def short_answer(text: str) -> Intent | None:
    """AFFIRM or NEGATE for a short yes/no-like reply, else None. Up to three phrases may be
    combined: 'yes, perfect', 'ok 👍', 'no, not like that'."""
    parts = [p for p in re.split(r"[,.!;]+|\s+(?=[^\w\s'?])", text) if _answer_key(p)]
    keys = [_answer_key(text)] if len(parts) <= 1 else [_answer_key(p) for p in parts]
    if len(keys) > 3:
        return None
    for intent, table in ((Intent.AFFIRM, AFFIRMATIVES), (Intent.NEGATE, NEGATIVES)):
        if _answer_key(text) in table or all(k in table for k in keys):
            return intent
    return None


def parse_reply(text: str, preview_waiting: bool) -> Parsed:
    """A typed message in context: while a preview waits, a short yes/no is about that preview."""
    parsed = parse_text(text)
    if parsed.intent is Intent.REQUEST and preview_waiting and len(text) <= 60:
        answer = short_answer(text)
        if answer is not None:
            return Parsed(answer, text=parsed.text)
    return parsed


def button(intent: Intent, preview_id: str = "") -> str:
    """callback_data for a button; Telegram allows 64 bytes, ids are short."""
    data = f"{intent.value}:{preview_id}"
    assert len(data.encode()) <= 64, data
    return data


def parse_callback(data: str) -> Parsed:
    """A pressed button; unknown data becomes UNKNOWN, which still gets an answer."""
    name, _, preview_id = (data if isinstance(data, str) else "").partition(":")
    try:
        intent = Intent(name)
    except ValueError:
        return Parsed(Intent.UNKNOWN)
    if intent in (Intent.REQUEST, Intent.AFFIRM, Intent.NEGATE, Intent.UNKNOWN):
        return Parsed(Intent.UNKNOWN)  # no button of ours carries these
    return Parsed(intent, preview_id or None)
