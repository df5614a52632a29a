"""Crash close-out (agent/recovery.py) and the lifecycle's calls (agent/lifecycle_calls.py).

Real state files, real git on a real clone, a real orphan process, and python-telegram-bot
against the local Bot API emulator.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from telegram import Bot

from agent import lifecycle_calls, recovery
from agent.chat import Chat
from agent.context import Deps
from agent.hosting import LocalHosting
from agent.settings import Settings
from agent.state import ChatState, Preview, StateStore
from local.origin import seed_origin
from local.telegram_emulator import start_emulator

TOKEN = "4343:recovery-test"
USER = 1001


class Work:
    """What the runtime keeps in memory, set by each test."""

    def __init__(self, running: bool = False, in_flight: tuple[int, ...] = ()) -> None:
        self._running, self._in_flight = running, in_flight

    def is_running(self, chat_id: int) -> bool:
        return self._running

    def in_flight(self, chat_id: int, update_id: int) -> bool:
        return update_id in self._in_flight


@pytest.fixture
def telegram():
    running = start_emulator(TOKEN)
    client = running.client()
    client.send_text(USER, "make the title blue")
    yield running, client
    running.stop()


@pytest.fixture
def deps(tmp_path, telegram):
    running, _ = telegram
    origin = seed_origin(tmp_path / "app.git")
    env = {"SHIPIT_WORKSPACE": str(tmp_path / "ws"), "SHIPIT_REPO_URL": str(origin)}
    settings = Settings.from_env(env)
    bot = Bot(TOKEN, base_url=f"{running.url}/bot", base_file_url=f"{running.url}/file/bot")
    return Deps(
        settings=settings,
        store=StateStore(settings.workspace),
        chat=Chat(bot),
        hosting=LocalHosting(tmp_path / "site", "http://127.0.0.1:9"),
    )


def preview(request_id: str = "u7", preview_id: str = "p1") -> Preview:
    return Preview(preview_id, f"preview/{preview_id}", "c0ffee", "http://x/previews/p1/",
                   "Made it blue.", "make the title blue", time.time(), request_id=request_id)  # fmt: skip


# ---------------------------------------------------------------- status (pure)


@pytest.mark.parametrize(
    ("state", "work", "expected"),
    [
        (ChatState(1, busy_id="u7"), Work(running=True), {"state": "running"}),
        (ChatState(1, busy_id="u7"), Work(running=False), {"state": "lost"}),
        (ChatState(1, interrupted_id="u7"), Work(), {"state": "interrupted", "told": True}),
        (ChatState(1), Work(in_flight=(7,)), {"state": "running"}),  # queued behind another
        (ChatState(1, pending=preview()), Work(), {"state": "waiting", "preview_id": "p1"}),
        (ChatState(1, seen_updates={"7": 1.0}), Work(), {"state": "done"}),
        (ChatState(1), Work(), {"state": "lost"}),  # accepted by a process that died at once
        (ChatState(1, pending=preview("u6")), Work(), {"state": "lost"}),
    ],
)
def test_request_status(state, work, expected):
    assert lifecycle_calls.request_status(state, "u7", work) == expected


def test_span_reads_like_a_person_wrote_it():
    spans = [lifecycle_calls.span(s) for s in (6 * 86400, 86400, 5 * 3600, 120, 5)]
    assert spans == ["6 days", "1 day", "5 hours", "2 minutes", "a moment"]


# ---------------------------------------------------------------- remind and expire


async def test_remind_once_then_expire_and_keep_the_build(deps, telegram, tmp_path):
    _, client = telegram
    repo = deps.repo_for(USER)
    repo.start_branch("preview/p1", repo.sync())
    build = tmp_path / "dist"
    build.mkdir()
    (build / "index.html").write_text("<h1>blue</h1>")
    deps.hosting.publish("p1", build)
    state = ChatState(USER, pending=preview(), seen_updates={"7": 1.0})
    deps.store.save_chat(state)
    call = {"op": "remind", "chat_id": USER, "preview_id": "p1", "expires_in_s": 6 * 86400}
    assert await lifecycle_calls.answer(deps, Work(), call) == {"state": "waiting"}
    assert await lifecycle_calls.answer(deps, Work(), call) == {"state": "waiting"}  # a replay
    reminders = [m for m in client.bot_messages(USER) if "still waiting" in m["text"]]
    assert len(reminders) == 1 and "6 days" in reminders[0]["text"]
    assert "Ship it" in str(reminders[0]["buttons"])

    expire = {"op": "expire", "chat_id": USER, "preview_id": "p1", "waited_s": 7 * 86400}
    assert await lifecycle_calls.answer(deps, Work(), expire) == {"state": "expired"}
    assert await lifecycle_calls.answer(deps, Work(), expire) == {"state": "gone"}
    assert deps.store.load_chat(USER).pending is None
    assert sum("waited 7 days" in m["text"] for m in client.bot_messages(USER)) == 1
    assert "preview/p1" not in repo.git("branch")  # the branch is dropped
    assert deps.hosting.has_build("p1")  # the build is kept for history


async def test_a_shipped_preview_is_neither_reminded_nor_expired(deps, telegram):
    _, client = telegram
    deps.store.save_chat(ChatState(USER, pending=None))  # shipped: nothing pending any more
    before = len(client.bot_messages(USER))
    for op in ("remind", "expire"):
        call = {"op": op, "chat_id": USER, "preview_id": "p1"}
        assert await lifecycle_calls.answer(deps, Work(), call) == {"state": "gone"}
    assert len(client.bot_messages(USER)) == before


async def test_a_malformed_call_is_refused(deps):
    with pytest.raises(lifecycle_calls.BadCall):
        await lifecycle_calls.answer(deps, Work(), {"op": "status", "chat_id": "1"})
    with pytest.raises(lifecycle_calls.BadCall):
        await lifecycle_calls.answer(deps, Work(), {"op": "explode", "chat_id": 1})


# ---------------------------------------------------------------- crash close-out


async def test_close_out_a_crashed_request_once(deps, telegram):
    _, client = telegram
    repo = deps.repo_for(USER)
    main = repo.sync()
    repo.start_branch("preview/half-made", main)
    (repo.path / "src" / "half.css").write_text("body { color: blue }\n")
    card = await deps.chat.send(USER, "⏳ Making the change…", [("⏹ Stop", "stop")])
    state = ChatState(USER, busy_since=time.time(), busy_request="make the title blue",
                      busy_id="u7", busy_card_id=card)  # fmt: skip
    deps.store.save_chat(state)
    orphan = subprocess.Popen(["sleep", "120"], cwd=repo.path)  # stands in for a `claude` CLI
    try:
        assert orphan.pid in recovery.orphans(deps.store.workspace / "chats")
        assert await recovery.close_out(deps) == [USER]
        assert orphan.wait(5) == -9
    finally:
        if orphan.poll() is None:
            orphan.kill()
    messages = client.messages(USER)
    edited = next(m for m in messages if m["message_id"] == card)
    assert edited["buttons"] == [] and "Interrupted" in edited["text"]
    told = [m for m in messages if m["from_bot"] and "interrupted while working" in m["text"]]
    assert len(told) == 1 and "Nothing live has changed" in told[0]["text"]
    after = deps.store.load_chat(USER)
    assert (after.busy_since, after.busy_id, after.interrupted_id) == (None, None, "u7")
    assert repo.git("status", "--porcelain") == ""
    assert "preview/half-made" not in repo.git("branch")

    assert await recovery.close_out(deps) == []  # a second start tells nobody again
    assert len([m for m in client.bot_messages(USER) if "interrupted while" in m["text"]]) == 1


async def test_close_out_keeps_a_waiting_preview_checked_out(deps):
    repo = deps.repo_for(USER)
    main = repo.sync()
    repo.start_branch("preview/p1", main)
    repo.start_branch("preview/half-made", main)
    state = ChatState(USER, busy_since=time.time(), busy_id="u8", pending=preview())
    deps.store.save_chat(state)
    await recovery.close_out(deps)
    assert repo.git("rev-parse", "--abbrev-ref", "HEAD") == "preview/p1"
    assert "preview/half-made" not in repo.git("branch")
    assert deps.store.load_chat(USER).pending.id == "p1"


async def test_close_out_touches_only_the_sessions_own_chat(deps, telegram):
    # On AWS each chat has its own session over one shared workspace: another chat's busy
    # request may be running in another container and must be left alone.
    other = 2002
    for chat in (USER, other):
        deps.store.save_chat(ChatState(chat, busy_since=time.time(), busy_id=f"u{chat}"))
    assert await recovery.close_out(deps, recovery.session_for_chat(USER)) == [USER]
    assert deps.store.load_chat(USER).busy_since is None
    assert deps.store.load_chat(other).busy_id == f"u{other}"


def test_the_agent_and_the_relay_agree_on_session_ids():
    from relay.handler import session_id_for_chat

    for chat in (1, 1001, -1001234567890):
        assert recovery.session_for_chat(chat) == session_id_for_chat(chat)
