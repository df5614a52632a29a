"""Fixtures for end-to-end runs of the embedded default with a scripted model."""

from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from local.scripted_claude import Turn, call, say, working_directory
from local.stack import Stack, StackConfig

USER = 1001


def links(message: dict) -> list[str]:
    """URLs behind the links in a bot message (Telegram text_link entities)."""
    return [e["url"] for e in message.get("entities") or [] if e.get("type") == "text_link"]


def open_preview(url: str) -> httpx.Response:
    """Fetch a preview link like a browser: follow its redirect, keeping the preview cookie."""
    return httpx.get(url, follow_redirects=True)


def published_previews(stack: Stack) -> list[str]:
    """Build ids published besides the app's original live version (base-…)."""
    builds = stack.site_dir / "builds"
    return sorted(p.name for p in builds.iterdir() if not p.name.startswith("base-"))


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def edit_session(
    old: str, new: str, path: str = "src/style.css", answer: str = "Done.", checks="node --test"
) -> list:
    """A realistic session: read the file, edit it, run the checks, answer."""

    def at(request) -> str:
        return f"{working_directory(request)}/{path}"

    return [
        lambda r: call("Read", file_path=at(r)),
        lambda r: call("Edit", file_path=at(r), old_string=old, new_string=new),
        lambda r: call("Bash", command=checks, description="Run the checks"),
        lambda r: say(answer),
    ]


class Script:
    """A queue of turns (or functions of the request), then a fixed tail answer."""

    def __init__(self, steps: list, tail: Turn | None = None) -> None:
        self.steps = list(steps)
        self.tail = tail or say("Done.")

    def extend(self, steps: list) -> None:
        self.steps.extend(steps)

    def __call__(self, request: dict) -> Turn:
        if not self.steps:
            return self.tail
        step = self.steps.pop(0)
        return step(request) if callable(step) else step


class PerChat:
    """One Script per chat, chosen by the chat's clone in the CLI's working directory."""

    def __init__(self, scripts: dict[int, Script]) -> None:
        self.scripts = scripts

    def __call__(self, request: dict) -> Turn:
        match = re.search(r"/chats/(-?\d+)/repo", working_directory(request))
        return self.scripts[int(match.group(1))](request)


class Held:
    """A model turn that waits until the test lets go: keeps a request running on purpose."""

    def __init__(self, turn: Turn | None = None) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self.turn = turn or say("Which colour would you like?")

    def __call__(self, _request: dict) -> Turn:
        self.entered.set()
        self.release.wait(120)
        return self.turn


def bot_texts(tg, chat_id: int) -> list[str]:
    return [m["text"] or "" for m in tg.bot_messages(chat_id)]


@pytest.fixture
def start_stack(tmp_path):
    """Start a stack with a scripted model; stopped after the test."""
    stacks: list[Stack] = []

    def start(script: Script, **config) -> Stack:
        stack = Stack(
            StackConfig(root=tmp_path / f"stack{len(stacks)}", responder=script, **config)
        )
        stacks.append(stack)
        return stack.start()

    yield start
    for stack in stacks:
        stack.stop()
