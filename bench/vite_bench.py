"""Time the stock Vite + React PWA (examples/vite-pwa) through the embedded default.

Prints two tables: dependency install cold (empty package cache, npm's download cache warm, as
on a runtime whose disk is new) versus cached (same lockfile again), and message → rendered
preview (the preview's DOM shows the change in headless Chromium) with the scripted model.
Installs are offline from the npm cache that .ci/run warms; nothing reaches the registry.
Usage: uv run python bench/vite_bench.py [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.commands import run_command  # noqa: E402
from agent.deps_cache import DepsCache  # noqa: E402
from agent.guard.env import command_env  # noqa: E402
from local.stack import Stack, StackConfig  # noqa: E402
from tests.conftest import NPM_SEED_CACHE, TEST_DEPS_CACHE  # noqa: E402
from tests.e2e.browser import chromium, title_becomes  # noqa: E402
from tests.e2e.conftest import Script, edit_session, links  # noqa: E402

USER = 1001
APP = Path(__file__).resolve().parent.parent / "examples" / "vite-pwa"


def install_times(tmp: Path, runs: int) -> list[tuple[str, float]]:
    (tmp / "home").mkdir(parents=True, exist_ok=True)
    env = [f"{k}={v}" for k, v in command_env(str(tmp / "home")).items()]

    def run(command: str, cwd: Path, network: bool = False):
        argv = ["/usr/bin/env", "-i", *env, "/bin/sh", "-c", command]
        return run_command(argv, command, cwd, 600)

    rows = []
    for n in range(runs):
        repo = tmp / f"app{n}"
        shutil.copytree(APP, repo, ignore=shutil.ignore_patterns("node_modules", "dist"))
        cache = DepsCache(tmp / f"deps{n}", run, NPM_SEED_CACHE, offline=True)
        cold = cache.prepare(repo, "npm ci")
        (repo / "node_modules").unlink()  # the next request's fresh tree
        warm = cache.prepare(repo, "npm ci")
        assert not cold.cached and warm.cached
        rows += [("cold", cold.seconds), ("cached", warm.seconds)]
    return rows


def edit(old: str, new: str) -> list:
    return edit_session(old, new, "src/App.tsx", "Renamed.", checks="npm test")


def preview_times(tmp: Path, runs: int) -> list[float]:
    script = Script([])
    config = StackConfig(
        root=tmp / "stack",
        responder=script,
        sample_app=APP,
        app_name="crew-board",
        cache_dir=TEST_DEPS_CACHE,
        npm_seed_cache=NPM_SEED_CACHE,
        install_offline=True,
    )
    stack = Stack(config).start()
    times = []
    try:
        tg = stack.telegram.client(timeout=30)
        title = "Crew board"
        with chromium(tmp / "browser") as browser:
            page = browser.new_page()
            for n in range(runs):
                new = f"Crew board {n + 1}"
                script.extend(edit(f'<h1 id="title">{title}</h1>', f'<h1 id="title">{new}</h1>'))
                seen = len([m for m in tg.messages(USER) if "Your preview is ready" in m["text"]])
                t0 = time.perf_counter()
                tg.send_text(USER, f"call the board {new}")
                ready = tg.wait_for(
                    USER,
                    lambda ms, seen=seen: (
                        len([m for m in ms if "Your preview is ready" in m["text"]]) > seen
                    ),
                    timeout=300,
                )
                message = [m for m in ready if "Your preview is ready" in m["text"]][-1]
                page.goto(links(message)[0])
                title_becomes(page, new)
                times.append(time.perf_counter() - t0)
                title = new
    finally:
        stack.stop()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=TEST_DEPS_CACHE.parent) as tmp:
        installs = install_times(Path(tmp), args.runs)
        previews = preview_times(Path(tmp), args.runs)
    print("\n| install (examples/vite-pwa, npm ci, offline) | median s | runs |")
    print("|---|---|---|")
    for kind in ("cold", "cached"):
        values = [s for k, s in installs if k == kind]
        shown = ", ".join(f"{v:.2f}" for v in values)
        print(f"| {kind} | {statistics.median(values):.2f} | {shown} |")
    print("\n| message → rendered preview (scripted model) | median s | runs |")
    print("|---|---|---|")
    shown = ", ".join(f"{v:.1f}" for v in previews)
    print(f"| Vite + React PWA, no .shipit.toml | {statistics.median(previews):.1f} | {shown} |")


if __name__ == "__main__":
    main()
