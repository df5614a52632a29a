"""What a boxed run may spend through the model proxy, counted by the proxy from the responses.

Each run gets a grant: a random token (in the base URL the box is given) with a dollar cap. The
proxy serves only open grants. Before forwarding a model call it reserves the call's worst case
(every request byte an input token, the whole `max_tokens` of output, which it lowers to what the
remaining money buys) and afterwards settles what the response's usage says it cost. So no run,
and nothing inside its box, can spend beyond its cap, even with concurrent calls.

Prices are USD per million tokens, Anthropic's list prices at the time of writing; an unknown
model is charged at the highest listed price, so the cap errs on the side of stopping early.
"""

from __future__ import annotations

import base64
import json
import math
import secrets
import threading
from dataclasses import dataclass, field

# (input, output) USD per million tokens; cache writes cost 1.25x input, cache reads 0.1x.
# First match wins, so a more specific name comes first. Sources: platform.claude.com/docs/en/
# models/<model>/overview (Sonnet 5 and 5.5 $2/$10, Opus 5 $5/$25, Opus 5.5 $4/$20, Fable 5.1
# $10/$50). Models not listed (Opus 4.7, 4.8) fall to the older, higher Opus price: the cap
# stops early rather than late.
PRICES: tuple[tuple[str, float, float], ...] = (
    ("fable", 10.0, 50.0),
    ("opus-5-5", 4.0, 20.0),
    ("opus-5", 5.0, 25.0),
    ("opus-4-5", 5.0, 25.0),
    ("opus-4-6", 5.0, 25.0),
    ("opus", 15.0, 75.0),
    ("sonnet-5", 2.0, 10.0),
    ("sonnet", 3.0, 15.0),
    ("haiku-4-5", 1.0, 5.0),
    ("haiku", 0.8, 4.0),
)
MAX_PRICE = (15.0, 75.0)


class BudgetExhausted(Exception):
    """A model call would go beyond the run's cap."""

    def __init__(self, cap_usd: float, spent_usd: float) -> None:
        super().__init__(f"budget of ${cap_usd:.2f} used (${spent_usd:.4f} spent)")
        self.cap_usd = cap_usd
        self.spent_usd = spent_usd


def prices_for(model: str) -> tuple[float, float]:
    model = (model or "").lower()
    for name, inp, out in PRICES:
        if name in model:
            return inp, out
    return MAX_PRICE


@dataclass
class Usage:
    input: int = 0
    output: int = 0
    cache_write: int = 0
    cache_read: int = 0

    def cost(self, model: str) -> float:
        inp, out = prices_for(model)
        tokens_in = self.input + 1.25 * self.cache_write + 0.1 * self.cache_read
        return (tokens_in * inp + self.output * out) / 1e6

    def absorb(self, usage: dict) -> None:
        """Anthropic usage fields (message_start / message_delta / a JSON reply / Bedrock)."""
        self.input = max(self.input, int(usage.get("input_tokens") or 0))
        self.cache_write = max(self.cache_write, int(usage.get("cache_creation_input_tokens") or 0))
        self.cache_read = max(self.cache_read, int(usage.get("cache_read_input_tokens") or 0))
        # message_delta's output_tokens is the running total.
        self.output = max(self.output, int(usage.get("output_tokens") or 0))


class Meter:
    """Reads usage out of a response as it streams by (SSE, AWS event-stream or plain JSON)."""

    def __init__(self, content_type: str) -> None:
        self.usage = Usage()
        self.kind = (
            "eventstream"
            if "amazon.eventstream" in content_type
            else "sse"
            if "event-stream" in content_type
            else "json"
        )
        self._text = b""
        self.broken = False
        self._frames = None
        if self.kind == "eventstream":
            from botocore.eventstream import EventStreamBuffer

            self._frames = EventStreamBuffer()

    def feed(self, chunk: bytes) -> None:
        """Never raises: a response it cannot read is charged at its reserved worst case."""
        if self.broken:
            return
        try:
            self._feed(chunk)
        except Exception:  # noqa: BLE001 - metering must never break the stream it reads
            self.broken = True

    def _feed(self, chunk: bytes) -> None:
        if self.kind == "eventstream":
            self._frames.add_data(chunk)
            for message in self._frames:
                self._event_stream_payload(message.payload)
            return
        self._text += chunk
        if self.kind == "sse":
            *lines, self._text = self._text.split(b"\n")
            for line in lines:
                if line.startswith(b"data:"):
                    self._event(line[5:].strip())

    def finish(self) -> Usage | None:
        """The usage read, or None when the response could not be read (charge the worst case)."""
        if self.kind == "json" and not self.broken:
            self._event(self._text)
        return None if self.broken else self.usage

    def _event_stream_payload(self, payload: bytes) -> None:
        try:
            wrapped = json.loads(payload)
            self._event(base64.b64decode(wrapped["bytes"]))
        except (ValueError, KeyError, TypeError):
            return

    def _event(self, raw: bytes) -> None:
        try:
            event = json.loads(raw)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        for holder in (event, event.get("message") or {}):
            if isinstance(holder, dict) and isinstance(holder.get("usage"), dict):
                self.usage.absorb(holder["usage"])
        metrics = event.get("amazon-bedrock-invocationMetrics")
        if isinstance(metrics, dict):
            self.usage.absorb(
                {
                    "input_tokens": metrics.get("inputTokenCount"),
                    "output_tokens": metrics.get("outputTokenCount"),
                }
            )


@dataclass
class Grant:
    """One run's right to use the proxy, and its money."""

    cap_usd: float
    model: str = ""
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    calls: int = 0
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def exhausted(self) -> bool:
        return self.refused > 0

    def reserve(self, body: bytes, model: str) -> tuple[bytes, float]:
        """The body to forward (max_tokens lowered to what is left) and the amount reserved."""
        model = model or self.model
        inp, out = prices_for(model)
        data = _json_object(body)
        with self._lock:
            left = self.cap_usd - self.spent_usd - self.reserved_usd
            worst_in = len(body) * inp / 1e6
            if data is None or "max_tokens" not in data:
                cost = worst_in
                if cost > left:
                    self.refused += 1
                    raise BudgetExhausted(self.cap_usd, self.spent_usd)
            else:
                affordable = math.floor((left - worst_in) * 1e6 / out)
                thinking = data.get("thinking") if isinstance(data.get("thinking"), dict) else {}
                floor = int(thinking.get("budget_tokens") or 0) + 1
                wanted = int(data["max_tokens"])
                if affordable < max(floor, 1):
                    self.refused += 1
                    raise BudgetExhausted(self.cap_usd, self.spent_usd)
                if affordable < wanted:
                    data["max_tokens"] = affordable
                    body = json.dumps(data).encode()
                cost = worst_in + min(wanted, affordable) * out / 1e6
            self.reserved_usd += cost
            self.calls += 1
        return body, cost

    def settle(self, reserved: float, usage: Usage | None, model: str) -> None:
        """Replace a call's reservation by what it cost (all of it when unreadable)."""
        with self._lock:
            self.reserved_usd = max(0.0, self.reserved_usd - reserved)
            self.spent_usd += reserved if usage is None else usage.cost(model or self.model)


class Grants:
    """The open grants; the proxy looks each request's token up here."""

    def __init__(self) -> None:
        self._open: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def open(self, cap_usd: float, model: str = "") -> Grant:
        grant = Grant(cap_usd, model)
        with self._lock:
            self._open[grant.token] = grant
        return grant

    def close(self, grant: Grant) -> None:
        with self._lock:
            self._open.pop(grant.token, None)

    def get(self, token: str) -> Grant | None:
        with self._lock:
            return self._open.get(token)


def _json_object(body: bytes) -> dict | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
