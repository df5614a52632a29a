"""A test knob for the Telegram emulator: make a fraction of Bot API calls fail like Telegram can.

A fault is decided before the call does anything, so a failed call never has an effect (the
caller's retry is what makes the message appear). Kinds:
    "timeout"  hold the request for `hold_s` seconds (longer than the bot's own timeout, so its
               HTTP client gives up: a real TimedOut), then answer 504 without doing the call
    "500", "502", "503"   answer that status (PTB raises NetworkError)
    "429"      Too Many Requests with retry_after 1
Seeded, so a run can be repeated.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from local.telegram_state import ApiError

# What a bot sends or edits; setup calls (getMe, setWebhook…) are never failed.
DEFAULT_METHODS = (
    "sendmessage",
    "editmessagetext",
    "editmessagereplymarkup",
    "answercallbackquery",
    "sendchataction",
    "sendphoto",
    "deletemessage",
)


@dataclass
class Faults:
    rate: float = 0.1
    kinds: tuple[str, ...] = ("timeout", "500", "502", "429")
    hold_s: float = 2.0
    seed: int = 1
    methods: tuple[str, ...] = DEFAULT_METHODS
    injected: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.kinds = tuple(str(k) for k in self.kinds)
        self.methods = tuple(m.lower() for m in self.methods)
        self._random = random.Random(self.seed)

    async def maybe_fail(self, method: str) -> None:
        """Raise an ApiError for this call (after holding it, for a timeout), or return."""
        if method.lower() not in self.methods or self._random.random() >= self.rate:
            return
        kind = self._random.choice(self.kinds)
        self.injected.append({"method": method, "kind": kind})
        if kind == "timeout":
            await asyncio.sleep(self.hold_s)
            raise ApiError(504, "Gateway Timeout")
        if kind == "429":
            raise ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        raise ApiError(int(kind), "Internal Server Error" if kind == "500" else "Bad Gateway")
