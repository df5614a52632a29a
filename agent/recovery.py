"""Crash close-out at agent start: requests a dead process left unfinished are ended honestly.

A request is unfinished when its chat's state still has `busy_since` (journey.request clears it
in a `finally`, so only a killed process leaves it). For each one: the dead status card is edited
to say it was interrupted (no Stop button), the requester is told nothing live changed, orphaned
processes of this workspace (the `claude` CLI, the repo's checks) are killed, and the chat's work
tree is reset to the state before the request. The state is saved *before* anyone is told, so a
second start never tells twice (at most once per request). AgentCore starts the process for an
invocation, so "at start" is a session's first invocation in this process (agent/app.py), and
only that session's chat is closed out; the lifecycle's status poll is such an invocation, which
is how a crash is noticed without the requester writing again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import time
from pathlib import Path

from agent.context import Deps, blocking
from agent.messages import clip, render
from agent.repo import GitError, Repo
from agent.state import ChatState

log = logging.getLogger(__name__)

KILL_WAIT_S = 5.0
SESSION_PREFIX = "shipit-chat-"  # relay/handler.py's session_id_for_chat (tests keep them equal)


def session_for_chat(chat_id: int) -> str:
    """The runtime session a chat's updates arrive on (the relay derives it the same way)."""
    return SESSION_PREFIX + hashlib.sha256(str(chat_id).encode("ascii")).hexdigest()


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def orphans(root_dir: Path, proc: Path = Path("/proc"), me: int | None = None) -> list[int]:
    """Processes of this user whose cwd or command line is under `root_dir`, but not us."""
    me = os.getpid() if me is None else me
    root = str(root_dir.resolve())
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) in (me, os.getppid()):
            continue
        try:
            if entry.stat().st_uid != os.getuid():
                continue
            cwd = os.readlink(entry / "cwd")
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        words = [a.decode("utf-8", "replace") for a in args if a]
        if _under(cwd, root) or any(_under(w, root) for w in words):
            found.append(int(entry.name))
    return found


def kill_orphans(root_dir: Path) -> list[int]:
    """SIGKILL every orphan under `root_dir` and wait (bounded) until gone; the pids killed."""
    pids = orphans(root_dir)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + KILL_WAIT_S
    for pid in pids:
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            # A zombie whose parent died is reaped by init; checking its state avoids waiting.
            try:
                if Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] == "Z":
                    break
            except (OSError, IndexError):
                break
            time.sleep(0.02)
    if pids:
        log.warning("killed %d orphaned process(es) of this workspace: %s", len(pids), pids)
    return pids


def reset_work_tree(repo: Repo, state: ChatState) -> None:
    """Back to before the request: the waiting preview's branch, else origin's main; no strays."""
    if not (repo.path / ".git").exists():
        return
    keep = state.pending.branch if state.pending else None
    target = keep or f"origin/{repo.main}"
    repo.git("checkout", "--quiet", "--force", "--detach", target, check=False)
    if keep:
        repo.git("checkout", "--quiet", "--force", keep, check=False)
    repo.git("clean", "-fdq", "-e", "node_modules", check=False)
    # The half-made branch of the interrupted request: never shipped, never previewed.
    for branch in repo.git(
        "for-each-ref", "--format=%(refname:short)", "refs/heads/preview/"
    ).split():
        if branch != keep:
            repo.git("branch", "-D", branch, check=False)


def unfinished(deps: Deps, session_id: str | None = None) -> list[ChatState]:
    """Chats with a request left busy; only the one chat of `session_id` when it is given."""
    chats = deps.store.workspace / "chats"
    if not chats.is_dir():
        return []
    found = []
    for path in sorted(chats.iterdir()):
        if not (path / "state.json").is_file() or not path.name.lstrip("-").isdigit():
            continue
        if session_id is not None and session_for_chat(int(path.name)) != session_id:
            continue
        state = deps.store.load_chat(int(path.name))
        if state.busy_since is not None:
            found.append(state)
    return found


async def close_out(deps: Deps, session_id: str | None = None) -> list[int]:
    """Close out the unfinished request of `session_id`'s chat (every chat's when None).

    On AWS each chat has its own session and container over one shared workspace, so a new
    session must never touch another chat: that one may be running elsewhere. Idempotent.
    """
    states = await blocking(unfinished, deps, session_id)
    if not states:
        return []
    told = []
    for state in states:
        await blocking(kill_orphans, deps.store.chat_dir(state.chat_id))
        request = clip(state.busy_request or "your change", 200)
        card = state.busy_card_id
        state.interrupted_id = state.busy_id or f"unknown-{int(state.busy_since or 0)}"
        state.busy_since = state.busy_request = state.busy_id = None
        state.busy_card_id = 0
        deps.store.save_chat(state)  # first: a crash from here on never tells twice
        try:
            await blocking(reset_work_tree, deps.repo_for(state.chat_id), state)
        except (GitError, OSError) as exc:
            log.error("chat %s: resetting the work tree failed: %s", state.chat_id, exc)
        try:
            if card:
                await deps.chat.edit(
                    state.chat_id, card, render("card_interrupted", request=request)
                )
            await deps.chat.send(state.chat_id, render("interrupted", request=request))
            told.append(state.chat_id)
        except Exception:  # the Bot API is down or the bot blocked: the state is closed anyway
            log.exception("chat %s: telling about the interruption failed", state.chat_id)
    return told
