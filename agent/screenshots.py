"""The visual receipt: phone-width pictures of the live page and the preview, taken elsewhere.

The browser never runs in the agent's container (it would not fit beside the CLI under the
image quota, and untrusted preview pages are better rendered far from the agent's secrets).
One interface, two places it runs: `HttpScreenshotter` calls the local screenshot service
(local/screenshot_service.py, the local stack and CI), `LambdaScreenshotter` invokes the
screenshot Lambda (browser/, infra/screenshot.py). Both drive the same browser/chromium.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Protocol

import httpx

from agent.messages import Raw, render

log = logging.getLogger(__name__)

PHONE = (390, 844)  # an everyday phone's CSS pixels, portrait


class ScreenshotError(Exception):
    """No picture of `url`; `problem` says why in a few words."""

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(f"{url}: {problem}")
        self.url = url
        self.problem = problem


class Screenshotter(Protocol):
    def capture(self, url: str, width: int = PHONE[0], height: int = PHONE[1]) -> bytes: ...


class HttpScreenshotter:
    """The local screenshot service over loopback HTTP."""

    def __init__(self, base_url: str, timeout_s: float = 45.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def capture(self, url: str, width: int = PHONE[0], height: int = PHONE[1]) -> bytes:
        try:
            resp = httpx.post(
                f"{self.base_url}/screenshot",
                json={"url": url, "width": width, "height": height},
                timeout=self.timeout_s,
                trust_env=False,  # loopback: no proxy from the environment
            )
        except httpx.HTTPError as exc:
            raise ScreenshotError(url, f"screenshot service unreachable: {exc}") from exc
        if resp.status_code != 200:
            raise ScreenshotError(url, _error_of(resp))
        return resp.content


class LambdaScreenshotter:
    """The screenshot Lambda (a container image with Chromium), invoked synchronously."""

    def __init__(self, function: str, client) -> None:
        self.function = function
        self.client = client

    def capture(self, url: str, width: int = PHONE[0], height: int = PHONE[1]) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        payload = json.dumps({"url": url, "width": width, "height": height})
        try:
            resp = self.client.invoke(FunctionName=self.function, Payload=payload.encode())
            body = json.loads(resp["Payload"].read() or b"{}")
        except (BotoCoreError, ClientError, ValueError) as exc:
            raise ScreenshotError(url, f"screenshot function failed: {exc}") from exc
        if resp.get("FunctionError") or not body.get("ok"):
            raise ScreenshotError(url, str(body.get("error") or body.get("errorMessage") or body))
        return base64.b64decode(body["png_b64"])


def screenshotter_from_settings(settings) -> Screenshotter | None:
    """The configured screenshotter, or None (previews then say no picture could be made)."""
    if settings.screenshot_function:
        import boto3
        from botocore.config import Config

        client = boto3.client("lambda", config=Config(read_timeout=60, retries={"max_attempts": 1}))
        return LambdaScreenshotter(settings.screenshot_function, client)
    if settings.screenshot_url:
        return HttpScreenshotter(settings.screenshot_url)
    return None


def _error_of(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("error") or resp.status_code)
    except ValueError:
        return f"HTTP {resp.status_code}"


def pick_page(changed: list[str], built: set[str], configured: tuple[str, ...] = ()) -> str:
    """Which page to picture: a page the change touched, else the repo's first named page, else
    the start page (""). `built` lists the build output's files, repo-relative to the output."""
    for path in changed:
        if not path.endswith((".html", ".htm")):
            continue
        parts = PurePosixPath(path).parts
        candidates = [path]
        if len(parts) > 1:  # a source page usually lands in the build minus its folder (src/)
            candidates.append(PurePosixPath(*parts[1:]).as_posix())
        for candidate in candidates:
            if candidate in built:
                return "" if candidate == "index.html" else candidate
    return configured[0].lstrip("/") if configured else ""


@dataclass
class Receipt:
    """What the pictures came to: each picture or None, and what went wrong if anything did."""

    before: bytes | None
    after: bytes | None
    problem: str = ""
    seconds: float = 0.0


async def take_receipt(
    shotter: Screenshotter | None, live_url: str | None, preview_url: str, page: str
) -> Receipt:
    """Both pictures at once (each is a browser start); failures become a Receipt.problem."""
    if shotter is None:
        return Receipt(None, None, "no screenshot service is configured")
    started = time.monotonic()

    async def one(url: str | None) -> bytes | ScreenshotError | None:
        if url is None:
            return None
        try:
            return await asyncio.to_thread(shotter.capture, url + page, *PHONE)
        except ScreenshotError as exc:
            log.warning("screenshot failed: %s", exc)
            return exc

    before, after = await asyncio.gather(one(live_url), one(preview_url))
    problems = [r.problem for r in (before, after) if isinstance(r, ScreenshotError)]
    return Receipt(
        before if isinstance(before, bytes) else None,
        after if isinstance(after, bytes) else None,
        "; ".join(problems),
        round(time.monotonic() - started, 3),
    )


def album(receipt: Receipt) -> list[tuple[bytes, str]]:
    """(picture, caption) pairs to send: before then after; only the after one if the page is
    new or the live one failed."""
    shots = []
    if receipt.before is not None and receipt.after is not None:
        shots.append((receipt.before, "Before: what's live now"))
    if receipt.after is not None:
        shots.append((receipt.after, "After: your preview"))
    return shots


def built_files(folder) -> set[str]:
    """The build output's files, relative to it, as pick_page wants them."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


async def send_receipt(deps, chat_id: int, preview) -> Raw:
    """Send the before/after pictures of `preview`; returns the line the preview message adds.

    Never raises for a missing picture: the preview still goes out, and says so.
    """
    live = deps.hosting.production_url if await asyncio.to_thread(deps.hosting.live_build) else None
    receipt = await take_receipt(deps.screenshotter, live, preview.url, preview.page)
    shots = album(receipt)
    log.info(
        "pictures for %s: %s in %.2f s", preview.id, [len(s[0]) for s in shots], receipt.seconds
    )
    if not shots:
        return render("receipt_failed")
    try:
        await deps.chat.send_photos(chat_id, shots)
    except Exception:  # a picture is a courtesy: the preview itself must still go out
        log.exception("sending the pictures failed")
        return render("receipt_failed")
    return render("receipt_pair" if len(shots) == 2 else "receipt_after")
