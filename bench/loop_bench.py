"""Time full loops of the embedded default with a scripted model: message → preview → ship → live.

Runs the real stack (emulator, relay, AgentCore stand-in, agent process, real `claude` CLI, real
git, node checks and build) with the offline demo model, and prints a table of phase timings.
Usage: uv run python bench/loop_bench.py [--loops 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from local.demo_model import respond  # noqa: E402
from local.stack import Stack, StackConfig  # noqa: E402

USER = 1001


def one_loop(tg, n: int) -> dict[str, float]:
    before = len(tg.bot_messages(USER))
    t0 = time.perf_counter()
    tg.send_text(USER, f"make the offset field bigger ({n})")
    tg.wait_for(USER, lambda ms: len([m for m in ms if m["from_bot"]]) > before, timeout=30)
    t_card = time.perf_counter()
    previews = lambda ms: [m for m in ms if m["from_bot"] and "Your preview is ready" in m["text"]]  # noqa: E731
    seen = len(previews(tg.messages(USER)))
    tg.wait_for(USER, lambda ms: len(previews(ms)) > seen, timeout=120)
    t_preview = time.perf_counter()
    preview = previews(tg.messages(USER))[-1]
    lives = lambda ms: [m for m in ms if m["from_bot"] and "It's live" in m["text"]]  # noqa: E731
    live_before = len(lives(tg.messages(USER)))
    tg.press_button(USER, preview["message_id"], text="🚀 Ship it")
    tg.wait_for(USER, lambda ms: len(lives(ms)) > live_before, timeout=120)
    t_live = time.perf_counter()
    return {
        "message → status card": t_card - t0,
        "message → preview link": t_preview - t0,
        "ship it → live link": t_live - t_preview,
        "whole loop": t_live - t0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loops", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        stack = Stack(StackConfig(root=Path(tmp), responder=respond)).start()
        startup = time.perf_counter() - start
        try:
            tg = stack.telegram.client(timeout=30)
            runs = [one_loop(tg, n) for n in range(args.loops)]
        finally:
            stack.stop()
    print(
        f"\nShipit full loop, scripted model, {args.loops} loops (stack start-up {startup:.2f} s)\n"
    )
    print(f"| {'phase':<24} | {'min s':>6} | {'median s':>8} | {'max s':>6} |")
    print(f"|{'-' * 26}|{'-' * 8}|{'-' * 10}|{'-' * 8}|")
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(
            f"| {key:<24} | {min(values):6.2f} | {statistics.median(values):8.2f} | {max(values):6.2f} |"
        )
    print("\nThe first loop includes the first clone of the app repo.")


if __name__ == "__main__":
    main()
