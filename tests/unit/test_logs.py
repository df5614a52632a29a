"""Agent log lines are JSON objects carrying the chat, update and request ids of their task."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from agent import logs


@pytest.fixture
def captured():
    stream = io.StringIO()
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    logs.setup(stream=stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in before[0]:
        root.addHandler(handler)
    root.setLevel(before[1])


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_each_task_logs_its_own_ids_even_from_threads(captured) -> None:
    log = logging.getLogger("shipit.test")

    async def update(chat: int, update_id: int, request: str) -> None:
        logs.bind(chat=chat, update=update_id)
        log.info("accepted")
        await asyncio.sleep(0)  # interleave with the other task
        logs.bind(request=request)
        await asyncio.to_thread(log.warning, "from a worker thread")

    await asyncio.gather(update(1, 11, "b-one"), update(2, 22, "b-two"))
    log.info("outside any update")
    lines = _lines(captured)
    assert len(lines) == 5
    for chat, update_id, request in ((1, 11, "b-one"), (2, 22, "b-two")):
        mine = [line for line in lines if line["chat_id"] == chat]
        assert [m["message"] for m in mine] == ["accepted", "from a worker thread"]
        assert {m["update_id"] for m in mine} == {update_id}
        assert mine[0]["request_id"] is None and mine[1]["request_id"] == request
        assert mine[1]["level"] == "WARNING"
    last = lines[-1]
    assert (last["chat_id"], last["update_id"], last["request_id"]) == (None, None, None)
    assert last["logger"] == "shipit.test" and last["time"].endswith("+00:00")


def test_errors_carry_the_traceback_in_one_line(captured) -> None:
    try:
        raise RuntimeError("boom <b>")
    except RuntimeError:
        logging.getLogger("shipit").exception("update %s failed", 7)
    (line,) = _lines(captured)
    assert line["level"] == "ERROR"  # what the AgentErrors metric filter matches
    assert line["message"] == "update 7 failed"
    assert "RuntimeError: boom <b>" in line["exception"]


def test_odd_arguments_never_break_a_log_call(captured) -> None:
    logging.getLogger("x").info("value %s", object())
    (line,) = _lines(captured)
    assert line["message"].startswith("value <object object")
