"""A scripted Anthropic Messages API on loopback: the real `claude` CLI talks to it like to Claude.

Tests hand it a list of turns (or a function of the conversation); the offline demo model is a
function of the conversation too. It speaks just enough of the streaming protocol for the CLI:
message_start, per block content_block_start/delta/stop, message_delta, message_stop.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass(frozen=True)
class Text:
    """An assistant text block."""

    text: str


@dataclass(frozen=True)
class ToolUse:
    """An assistant tool call; the id is filled in per conversation."""

    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Turn:
    """One assistant message: its blocks, and whether it ends with a tool call."""

    blocks: tuple[Text | ToolUse, ...]

    @property
    def stop_reason(self) -> str:
        return "tool_use" if any(isinstance(b, ToolUse) for b in self.blocks) else "end_turn"


def say(text: str) -> Turn:
    return Turn((Text(text),))


def call(name: str, _text: str = "", **tool_input: Any) -> Turn:
    blocks: tuple[Text | ToolUse, ...] = (ToolUse(name, tool_input),)
    return Turn(((Text(_text),) if _text else ()) + blocks)


Responder = Callable[[dict[str, Any]], Turn]


def conversation(request: dict[str, Any]) -> list[dict[str, Any]]:
    """User and assistant messages only: the CLI appends `system` notes (e.g. budget left)."""
    return [m for m in request.get("messages") or [] if m.get("role") in ("user", "assistant")]


def last_tool_results(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks of the newest user message (what the model just got back)."""
    messages = conversation(request)
    if not messages or messages[-1].get("role") != "user":
        return []
    content = messages[-1].get("content")
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def working_directory(request: dict[str, Any]) -> str:
    """The cwd the CLI announces to the model ("Primary working directory: …")."""
    match = re.search(
        r"Primary working directory: ([^\\\n\"]+)", json.dumps(request.get("messages"))
    )
    return match.group(1).strip() if match else "."


def tool_result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(c.get("text", "") for c in content if isinstance(c, dict))
    return ""


@dataclass
class ScriptedClaude:
    """The server's state: the script, every request seen, and a lock (the CLI may retry)."""

    responder: Responder
    requests: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def from_turns(cls, turns: list[Turn], after: Turn | None = None) -> ScriptedClaude:
        """Play `turns` in order, then `after` (default: a plain 'Done.') for any further request."""
        queue = list(turns)
        tail = after or say("Done.")

        def respond(_request: dict[str, Any]) -> Turn:
            return queue.pop(0) if queue else tail

        return cls(respond)

    def tool_results(self) -> list[dict[str, Any]]:
        """Every tool_result the model was sent, in order, with is_error and text."""
        seen: dict[str, dict[str, Any]] = {}
        for req in self.requests:
            for block in last_tool_results(req):
                seen[block.get("tool_use_id", "")] = {
                    "tool_use_id": block.get("tool_use_id"),
                    "is_error": bool(block.get("is_error")),
                    "text": tool_result_text(block),
                }
        return list(seen.values())

    def _next(self, request: dict[str, Any]) -> tuple[Turn, int]:
        with self._lock:
            self.requests.append(request)
            return self.responder(request), next(self._ids)

    async def messages(self, http_request: Request) -> Response:
        body = await http_request.json()
        turn, n = self._next(body)
        message_id = f"msg_scripted_{n:04d}"
        content = [_block_json(b) for b in turn.blocks]
        usage = {"input_tokens": 100, "output_tokens": 20}
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": body.get("model", "scripted"),
                    "content": content,
                    "stop_reason": turn.stop_reason,
                    "stop_sequence": None,
                    "usage": usage,
                }
            )
        return Response(
            _sse(message_id, body.get("model", "scripted"), content, turn.stop_reason, usage),
            media_type="text/event-stream",
        )

    def app(self) -> Starlette:
        async def count_tokens(_request: Request) -> Response:
            return JSONResponse({"input_tokens": 100})

        return Starlette(
            routes=[
                Route("/v1/messages", self.messages, methods=["POST"]),
                Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
            ]
        )


def _block_json(block: Text | ToolUse) -> dict[str, Any]:
    if isinstance(block, Text):
        return {"type": "text", "text": block.text}
    return {
        "type": "tool_use",
        "id": f"toolu_{uuid.uuid4().hex[:20]}",
        "name": block.name,
        "input": block.input,
    }


def _sse(message_id: str, model: str, content: list, stop_reason: str, usage: dict) -> str:
    def event(name: str, data: dict[str, Any]) -> str:
        return f"event: {name}\ndata: {json.dumps(data)}\n\n"

    start = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 1},
    }
    parts = [event("message_start", {"type": "message_start", "message": start})]
    parts.append(event("ping", {"type": "ping"}))
    for index, block in enumerate(content):
        if block["type"] == "text":
            opening = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        parts.append(
            event(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": opening},
            )
        )
        parts.append(
            event(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
        )
        parts.append(event("content_block_stop", {"type": "content_block_stop", "index": index}))
    parts.append(
        event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        )
    )
    parts.append(event("message_stop", {"type": "message_stop"}))
    return "".join(parts)
