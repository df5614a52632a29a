"""`python -m local`: start the embedded default and print where to chat with the bot."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from local.origin import REPO_ROOT
from local.stack import Stack, StackConfig

DEFAULT_PORTS = {
    "telegram": 8081,
    "apigw": 8082,
    "agentcore": 8083,
    "model": 8084,
    "site": 8090,
    "previews": 8091,
    "agent": 8080,
}


def main() -> None:
    parser = argparse.ArgumentParser(description="Run all of Shipit on this machine.")
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(os.environ.get("SHIPIT_LOCAL_ROOT", REPO_ROOT / ".shipit")),
    )
    parser.add_argument(
        "--user-id", type=int, default=1001, help="the Telegram user id allowed to talk to the bot"
    )
    parser.add_argument(
        "--any-port", action="store_true", help="pick free ports instead of 8080-8091"
    )
    parser.add_argument(
        "--app",
        type=Path,
        help="an app folder to seed the local origin with (default: examples/sample-app); "
        "Shipit works out how to install, check and build it unless it has a .shipit.toml",
    )
    args = parser.parse_args()

    ports = {} if args.any_port else DEFAULT_PORTS
    config = StackConfig(root=args.root, allowed_user_ids=(args.user_id,), ports=ports)
    if args.app:
        app = args.app.resolve()
        if not app.is_dir():
            parser.error(f"--app {args.app}: no such folder")
        config.sample_app, config.app_name = app, app.name
        if "--root" not in sys.argv and "SHIPIT_LOCAL_ROOT" not in os.environ:
            # Its own folder per app: switching apps never mixes their origins or live sites.
            config.root = args.root / app.name
    real_token = os.environ.get("SHIPIT_BOT_TOKEN")
    if real_token:
        # A real bot: updates are polled from the Bot API (no public URL needed).
        config.token = real_token
        config.telegram_api_base = os.environ.get(
            "SHIPIT_TELEGRAM_API_BASE", "https://api.telegram.org"
        )
    stack = Stack(config)
    stack.start()
    chat = (
        f"{stack.chat_page}?user_id={args.user_id}&name=Sam"
        if stack.chat_page
        else f"your bot in Telegram (only user id {args.user_id} may use it; set --user-id)"
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    print(
        "\nShipit is running on this machine.\n"
        f"  Chat with the bot:  {chat}\n"
        f"  Model:              {stack.model_label}"
        + (
            "  (OFFLINE DEMO: it always makes the same sample change)"
            if stack.model_label.startswith("offline")
            else ""
        )
        + "\n"
        f"  Live app:           {stack.site.url}/\n"
        f"  Previews open at:   {stack.previews.url}/previews/<id>/\n"
        f"  App repo (origin):  {stack.origin}\n"
        f"  Webhook:            {stack.webhook_url}\n"
        f"  Agent log:          {stack.root / 'agent.log'}\n"
        "Try: 'make the offset field bigger', open the preview, then 'ship it'. Ctrl-C stops.\n",
        flush=True,
    )
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
