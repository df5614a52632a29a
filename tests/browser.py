"""Real headless Chromium for page tests, driven over the DevTools protocol.

Hand-written over `websockets` because the few calls a page test needs (open a page, run a
script, read a value) do not justify a browser-automation framework and its own browser download.
Chromium picks its own debugging port (port 0) and writes it to DevToolsActivePort: no port race.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import websockets

from browser.chromium import CLOSED_NETWORK_FLAGS
from local.servers import stop_process

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class Browser:
    def __init__(self) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="shipit-chromium-")
        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                *CLOSED_NETWORK_FLAGS,
                "--remote-debugging-port=0",
                f"--user-data-dir={self._profile.name}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromium did not start")
            time.sleep(0.05)
        self.port = int(port_file.read_text().split("\n")[0])

    def open(self, url: str) -> Page:
        target = httpx.put(f"http://127.0.0.1:{self.port}/json/new?{url}", timeout=10).json()
        return Page(target["webSocketDebuggerUrl"])

    def close(self) -> None:
        stop_process(self.proc)
        self._profile.cleanup()


class Page:
    """One tab; `evaluate` runs a JavaScript expression (awaiting promises) and returns its value."""

    def __init__(self, ws_url: str) -> None:
        self.ws_url = ws_url
        self._ids = itertools.count(1)

    def evaluate(self, expression: str, timeout: float = 30) -> object:
        return asyncio.run(self._evaluate(expression, timeout))

    async def _evaluate(self, expression: str, timeout: float) -> object:
        async with websockets.connect(self.ws_url, max_size=None) as ws:
            call_id = next(self._ids)
            params = {"expression": expression, "awaitPromise": True, "returnByValue": True}
            await ws.send(
                json.dumps({"id": call_id, "method": "Runtime.evaluate", "params": params})
            )
            while True:
                reply = json.loads(await asyncio.wait_for(ws.recv(), timeout))
                if reply.get("id") == call_id:
                    break
        result = reply["result"]
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> object:
        """Evaluate until truthy (the page loads and boots asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expression!r} stayed falsy for {timeout}s")
            time.sleep(0.1)
