"""Load: many chats sending several requests at once through the whole local stack.

Every request goes Telegram emulator → webhook → relay → AgentCore stand-in → agent → real
`claude` CLI (scripted model) → reply. The model answers each request with a question naming it,
so every answer can be matched to its request. Prints sent, answered, lost, duplicated, order
violations, wall time and peak memory (agent process plus its CLI children).
Usage: uv run python bench/load_bench.py [--chats 20] [--requests 5] [--fault-rate 0.1]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from local.scripted_claude import say  # noqa: E402
from local.stack import Stack, StackConfig  # noqa: E402
from local.telegram_client import EmulatorTimeout  # noqa: E402

FIRST_CHAT = 2001
TOKEN = re.compile(r"REQ-(\d+)-(\d+)")


def respond(request: dict):
    """Answer the newest request with a question carrying its token (no edit: no build)."""
    users = [m for m in request["messages"] if m.get("role") == "user"]
    found = TOKEN.findall(json.dumps(users[-1] if users else {}))
    chat, n = found[-1] if found else ("?", "?")
    return say(f"Which colour do you want for ANS-{chat}-{n}?")


def tree_rss_kb(pid: int) -> int:
    """Resident memory of `pid` and all its descendants, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        ppid = int(fields.get("PPid", "0").strip())
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


class PeakMemory(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.25):
            self.peak_kb = max(self.peak_kb, tree_rss_kb(self.pid))


def send_chat(tg, chat: int, requests: int) -> None:
    for n in range(requests):
        tg.send_text(chat, f"make the header nicer, please REQ-{chat}-{n}")


def failures(messages: list[dict], chat: int) -> set[int]:
    """Requests whose status card ended "❌ Failed": answered honestly, not by the model."""
    found = set()
    for message in (m for m in messages if m["from_bot"]):
        text = message["text"] or ""
        if text.startswith("❌ Failed"):
            found |= {int(n) for c, n in TOKEN.findall(text) if int(c) == chat}
    return found


def answers(messages: list[dict], chat: int) -> list[int]:
    """Request numbers in the order their answers appear in the chat."""
    found = []
    for message in (m for m in messages if m["from_bot"]):
        for c, n in re.findall(r"ANS-(\d+)-(\d+)", message["text"] or ""):
            if int(c) == chat:
                found.append(int(n))
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    chats = list(range(FIRST_CHAT, FIRST_CHAT + args.chats))
    sent = args.chats * args.requests
    with tempfile.TemporaryDirectory() as tmp:
        config = StackConfig(
            root=Path(tmp),
            responder=respond,
            allowed_user_ids=tuple(chats),
            agent_env={"SHIPIT_TELEGRAM_TIMEOUT_S": "2"},
        )
        stack = Stack(config).start()
        try:
            tg = stack.telegram.client(timeout=60)
            if args.fault_rate:
                tg.configure(faults={"rate": args.fault_rate, "hold_s": 2.5, "seed": 3})
            memory = PeakMemory(stack.agent.proc.pid)
            memory.start()
            start = time.perf_counter()
            senders = [
                threading.Thread(target=send_chat, args=(tg, c, args.requests)) for c in chats
            ]
            for s in senders:
                s.start()
            for s in senders:
                s.join()
            deadline = start + args.timeout
            for chat in chats:
                with contextlib.suppress(EmulatorTimeout):  # counted as lost below
                    tg.wait_for(
                        chat,
                        lambda ms, c=chat: (
                            len(set(answers(ms, c)) | failures(ms, c)) >= args.requests
                        ),
                        timeout=max(deadline - time.perf_counter(), 1),
                    )
            wall = time.perf_counter() - start
            memory.done.set()
            memory.join()
            injected = len(tg.info()["faults_injected"])
            transcripts = {c: tg.messages(c) for c in chats}
            per_chat = {c: answers(ms, c) for c, ms in transcripts.items()}
            failed = sum(len(failures(ms, c) - set(per_chat[c])) for c, ms in transcripts.items())
        finally:
            stack.stop()
    answered = sum(len(set(a)) for a in per_chat.values()) + failed
    duplicated = sum(len(a) - len(set(a)) for a in per_chat.values())
    order = sum(1 for a in per_chat.values() for i in range(len(a) - 1) if a[i] > a[i + 1])
    rows = [
        ("chats × requests", f"{args.chats} × {args.requests}"),
        ("Bot API fault rate", f"{args.fault_rate:.0%} ({injected} calls failed on purpose)"),
        ("sent", sent),
        ("answered", f"{answered} ({failed} of them an honest failure message)"),
        ("lost", sent - answered),
        ("duplicated", duplicated),
        ("order violations", order),
        ("wall time", f"{wall:.1f} s"),
        ("peak memory (agent + CLIs)", f"{memory.peak_kb / 1024:.0f} MB"),
    ]
    print("\nShipit load, scripted model, whole local stack\n")
    print(f"| {'measure':<28} | {'value':<40} |")
    print(f"|{'-' * 30}|{'-' * 42}|")
    for key, value in rows:
        print(f"| {key:<28} | {str(value):<40} |")


if __name__ == "__main__":
    main()
