"""Time the visual receipt: screenshots per preview, their sizes, and message → preview with pictures.

Runs the real stack with the offline demo model (the real `claude` CLI, git, node checks and
build, the local screenshot service driving Debian's Chromium) and prints two tables.
Usage: uv run python bench/screenshot_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from agent.screenshots import HttpScreenshotter, take_receipt  # noqa: E402
from local.demo_model import respond  # noqa: E402
from local.stack import Stack, StackConfig  # noqa: E402

USER = 1001


def previews(ms):
    return [m for m in ms if m["from_bot"] and "Your preview is ready" in (m["text"] or "")]


def one_request(tg, n: int) -> tuple[float, dict, list[dict]]:
    seen = len(previews(tg.messages(USER)))
    before = len(tg.messages(USER))
    t0 = time.perf_counter()
    tg.send_text(USER, f"make the offset field bigger ({n})")
    tg.wait_for(USER, lambda ms: len(previews(ms)) > seen, timeout=180)
    elapsed = time.perf_counter() - t0
    messages = tg.messages(USER)[before:]
    preview = previews(messages)[-1]
    photos = [m for m in messages if m["kind"] == "photo"]
    tg.press_button(USER, preview["message_id"], text="🗑 Discard")
    tg.wait_for_text(USER, "Dropped that preview", timeout=60)
    return elapsed, preview, photos


def row(name: str, values: list[float]) -> str:
    return (
        f"| {name:<34} | {min(values):6.2f} | {statistics.median(values):8.2f} "
        f"| {max(values):6.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(StackConfig(root=Path(tmp), responder=respond)).start()
        try:
            tg = stack.telegram.client(timeout=30)
            runs = [one_request(tg, n) for n in range(args.runs)]
            shotter = HttpScreenshotter(stack.screenshots.url)
            live, preview_url = f"{stack.site.url}/", runs[-1][1]["entities"]
            preview_url = next(e["url"] for e in preview_url if e.get("type") == "text_link")
            singles, pairs = [], []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                shotter.capture(preview_url)
                singles.append(time.perf_counter() - t0)
            for _ in range(args.runs):
                receipt = asyncio.run(take_receipt(shotter, live, preview_url, ""))
                pairs.append(receipt.seconds)
            sizes = []
            for _, _, photos in runs:
                for photo in photos:
                    data = tg.file_bytes(photo["photo_url"])
                    sizes.append((len(data), Image.open(io.BytesIO(data)).size))
        finally:
            stack.stop()
    print(f"\nVisual receipt, {args.runs} runs, offline demo model, local Chromium\n")
    print(f"| {'measure':<34} | {'min s':>6} | {'median s':>8} | {'max s':>6} |")
    print(f"|{'-' * 36}|{'-' * 8}|{'-' * 10}|{'-' * 8}|")
    print(row("message → preview with pictures", [r[0] for r in runs]))
    print(row("one screenshot (service call)", singles))
    print(row("before + after, in parallel", pairs))
    kb = [s[0] / 1024 for s in sizes]
    dims = sorted({s[1] for s in sizes})
    print(
        f"\nPictures sent: {len(sizes)} ({len(sizes) // max(len(runs), 1)} per preview), "
        f"PNG {dims}, {min(kb):.1f}–{max(kb):.1f} KiB (median {statistics.median(kb):.1f} KiB)."
    )


if __name__ == "__main__":
    main()
