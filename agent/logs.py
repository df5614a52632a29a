"""Structured JSON log lines for the agent, with the chat, update and request ids on every line.

One JSON object per line on stderr (AgentCore ships the container's output to CloudWatch Logs,
where `{ $.level = "ERROR" }` drives the AgentErrors alarm and Logs Insights filters by id).
The ids live in contextvars: asyncio tasks and `asyncio.to_thread` copy them, so an id bound
at the start of an update's task is on every line that task (and its threads) writes.
Hand-written because it is a Formatter over the stdlib's json plus three contextvars; a logging
library would add a dependency to the image for the same thirty lines.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

chat_id: ContextVar[int | None] = ContextVar("shipit_chat_id", default=None)
update_id: ContextVar[int | None] = ContextVar("shipit_update_id", default=None)
request_id: ContextVar[str | None] = ContextVar("shipit_request_id", default=None)

_UNSET = object()


def bind(*, chat: object = _UNSET, update: object = _UNSET, request: object = _UNSET) -> None:
    """Set ids for the rest of the current task (each asyncio task has its own copy)."""
    if chat is not _UNSET:
        chat_id.set(chat)  # type: ignore[arg-type]
    if update is not _UNSET:
        update_id.set(update)  # type: ignore[arg-type]
    if request is not _UNSET:
        request_id.set(request)  # type: ignore[arg-type]


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "chat_id", "update_id", "request_id", ...}`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "chat_id": chat_id.get(),
            "update_id": update_id.get(),
            "request_id": request_id.get(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # default=str: a log call must never fail on an odd argument.
        return json.dumps(line, ensure_ascii=False, default=str)


def setup(level: int = logging.INFO, stream: TextIO | None = None) -> logging.Handler:
    """Make every logger of the process write JSON lines (replaces earlier handlers)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
