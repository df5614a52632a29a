"""The bot's Telegram profile: the command menu and the description people see before /start.

Set when the agent starts, and only when they differ from what was last set (a marker on the
workspace), so a cold start does not spend Bot API calls on them. Failing to set them never
stops the agent.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from telegram import Bot, BotCommand
from telegram.error import TelegramError

from agent.state import write_json_atomic

log = logging.getLogger(__name__)

COMMANDS = (
    ("status", "What's live and what's waiting for you"),
    ("history", "What went live, and put an earlier version back"),
    ("undo", "Take the live app back to the version before"),
    ("cost", "This month's AI spend"),
    ("help", "What I can do"),
)
DESCRIPTION = (
    "Tell me what to change in your web app, in your own words or with a photo. I'll send "
    "a preview with before/after pictures; nothing goes live until you say ship it."
)


def fingerprint() -> str:
    return hashlib.sha256(json.dumps([COMMANDS, DESCRIPTION]).encode()).hexdigest()[:16]


async def set_up(bot: Bot, marker: Path) -> bool:
    """Set the command menu and description if they changed; True when they were set now."""
    if marker.exists() and json.loads(marker.read_text()).get("fingerprint") == fingerprint():
        return False
    try:
        await bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])
        await bot.set_my_description(DESCRIPTION)
    except TelegramError as exc:
        log.warning("could not set the bot's commands and description: %s", exc)
        return False
    write_json_atomic(marker, {"fingerprint": fingerprint()})
    return True
