"""One phone-width screenshot of a web page, taken by a headless Chromium started for that shot.

Runs outside the agent's container: behind the local screenshot service (local/) and inside the
screenshot Lambda (AWS). Chromium's own `--screenshot` mode is enough for one picture of a page
after it loads, so no driver library (Playwright, CDP client) is needed, and the Lambda image
stays one binary plus this file. Every shot gets a fresh profile folder, so one page can never
see another's cookies or storage.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Without the background-networking flags Chromium calls Google at start; on a closed network
# (CI, a VPC) those calls fail many times over and slow every shot. Shared by every Chromium
# Shipit or its tests start (tests/browser.py, tests/e2e/browser.py).
CLOSED_NETWORK_FLAGS = (
    "--headless",
    "--no-sandbox",  # the Lambda and CI run as root; the process is the sandbox there
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# One picture per process, on Lambda: its /dev/shm is tiny, and nothing forks renderers.
FLAGS = CLOSED_NETWORK_FLAGS + (
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--no-zygote",
)


class ChromiumError(Exception):
    """No picture: the browser is missing, timed out, or the page would not render."""

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(f"{url}: {problem}")
        self.url = url
        self.problem = problem


def find_chromium(explicit: str = "") -> str:
    """The browser binary: an explicit path, $CHROMIUM, or the usual names on PATH."""
    for candidate in (explicit, os.environ.get("CHROMIUM", "")):
        if candidate:
            return candidate
    for name in ("chromium", "chromium-browser", "chromium-headless-shell", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return ""


def capture(
    url: str,
    width: int = 390,
    height: int = 844,
    *,
    binary: str = "",
    timeout_s: float = 30.0,
    settle_ms: int = 1500,
) -> bytes:
    """PNG bytes of `url` as a `width`×`height` window shows it once the page has loaded."""
    if not url.startswith(("http://", "https://")):
        raise ChromiumError(url, "only http(s) pages are captured")
    page_answers(url, timeout_s)
    browser = find_chromium(binary)
    if not browser or not Path(browser).exists():
        raise ChromiumError(url, "no Chromium installed")
    with tempfile.TemporaryDirectory(prefix="shot-") as tmp:
        out = Path(tmp) / "shot.png"
        command = [
            browser,
            *FLAGS,
            f"--user-data-dir={tmp}/profile",
            f"--window-size={width},{height}",
            # Virtual time: scripts and timers get this long after load, without real waiting.
            f"--virtual-time-budget={settle_ms}",
            f"--screenshot={out}",
            url,
        ]
        try:
            proc = subprocess.run(
                command,
                capture_output=True,
                timeout=timeout_s,
                env={**os.environ, "HOME": tmp},
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ChromiumError(url, f"the browser took longer than {timeout_s:.0f} s") from exc
        except OSError as exc:
            raise ChromiumError(url, f"the browser could not start: {exc}") from exc
        if not out.exists():
            tail = proc.stderr.decode("utf-8", "replace")[-300:]
            raise ChromiumError(url, f"no picture (exit {proc.returncode}): {tail}")
        data = out.read_bytes()
    if not data.startswith(PNG_MAGIC):
        raise ChromiumError(url, "the browser wrote something that is not a PNG")
    return data


def page_answers(url: str, timeout_s: float = 10.0) -> None:
    """Chromium pictures an error page as happily as the app: make sure the page itself loads."""
    request = urllib.request.Request(url, headers={"User-Agent": "Shipit-Screenshot"})
    # With cookies, like the browser: a preview link sets its preview cookie, then redirects.
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    try:
        with opener.open(request, timeout=timeout_s) as resp:  # noqa: S310 (http(s) only)
            status = resp.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        raise ChromiumError(url, f"the page did not answer: {exc}") from exc
    if status >= 400:
        raise ChromiumError(url, f"the page answered HTTP {status}")
