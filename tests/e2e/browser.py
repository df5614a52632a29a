"""Headless Chromium for end-to-end tests: Debian's /usr/bin/chromium driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, sync_playwright

from browser.chromium import CLOSED_NETWORK_FLAGS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No background traffic: this machine's network is closed, and tests reach only loopback.
FLAGS = list(CLOSED_NETWORK_FLAGS)


@contextmanager
def chromium(profile: Path) -> Iterator[BrowserContext]:
    """One browser profile (a phone, say): its cookies, storage and service workers persist."""
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=FLAGS, headless=True
        )
        try:
            yield context
        finally:
            context.close()


def title_becomes(page: Page, text: str, timeout_ms: int = 30_000) -> None:
    """Wait until the app's own JavaScript has rendered `text` as its title (#title)."""
    page.wait_for_function(
        "t => document.querySelector('#title')?.textContent === t", arg=text, timeout=timeout_ms
    )


def controlling_worker(page: Page, timeout_ms: int = 30_000) -> str:
    """The script URL of the service worker controlling `page`, once one does."""
    page.wait_for_function("() => !!navigator.serviceWorker.controller", timeout=timeout_ms)
    return page.evaluate("() => navigator.serviceWorker.controller.scriptURL")


def registrations(page: Page) -> list[str]:
    return page.evaluate(
        "async () => (await navigator.serviceWorker.getRegistrations()).map(r => r.scope)"
    )
