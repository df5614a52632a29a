"""Real Telegram on one machine without a public URL: poll for updates, deliver them as a webhook.

Telegram can only push to a public HTTPS address. Locally, this polls `getUpdates` instead and
POSTs each update to the local API Gateway stand-in with the secret header, as Telegram's
webhook would, so the relay and everything after it run exactly as on AWS. Hand-written: it is
one loop over one Bot API method, and python-telegram-bot's Updater would bring its own
dispatching we do not want here.
"""

from __future__ import annotations

import logging
import threading

import httpx

log = logging.getLogger(__name__)

POLL_TIMEOUT_S = 10  # short enough that Ctrl-C stops the stack promptly
DELIVERY_ATTEMPTS = 5


class UpdatePoller:
    """Long-polls a Bot API server and hands each update to a webhook URL, in order."""

    def __init__(self, api_base: str, token: str, webhook_url: str, secret: str) -> None:
        self.api = f"{api_base.rstrip('/')}/bot{token}"
        self.webhook_url = webhook_url
        self.secret = secret
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="telegram-poller", daemon=True)
        self.delivered = 0

    def start(self) -> UpdatePoller:
        with httpx.Client(timeout=30) as client:
            # getUpdates is refused while a webhook is set.
            client.post(f"{self.api}/deleteWebhook").raise_for_status()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(POLL_TIMEOUT_S + 10)

    def _run(self) -> None:
        offset = None
        with httpx.Client(timeout=POLL_TIMEOUT_S + 10) as client:
            while not self._stop.is_set():
                try:
                    allowed = ["message", "callback_query"]
                    body = {"timeout": POLL_TIMEOUT_S, "offset": offset, "allowed_updates": allowed}
                    updates = client.post(f"{self.api}/getUpdates", json=body).json()["result"]
                except (httpx.HTTPError, KeyError, ValueError) as exc:
                    log.warning("getUpdates failed: %s", exc)
                    self._stop.wait(2)
                    continue
                for update in updates:
                    self._deliver(client, update)
                    offset = update["update_id"] + 1

    def _deliver(self, client: httpx.Client, update: dict) -> None:
        """Like Telegram: retry a failed delivery a few times, then move on."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret}
        for attempt in range(DELIVERY_ATTEMPTS):
            try:
                if client.post(self.webhook_url, json=update, headers=headers).is_success:
                    self.delivered += 1
                    return
            except httpx.HTTPError as exc:
                log.warning("webhook delivery failed: %s", exc)
            if self._stop.wait(min(2**attempt, 10)):
                return
        log.error("gave up delivering update %s", update.get("update_id"))
