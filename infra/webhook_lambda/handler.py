"""Custom resource Lambda: point the Telegram bot's webhook at this deployment, or remove it.

Stdlib plus the boto3 that Lambda's runtime ships (only Secrets Manager is used). It always
answers CloudFormation, so a failure shows up as a readable deploy error instead of an
hour-long hang, and a teardown never blocks on Telegram.
"""

from __future__ import annotations

import json
import logging
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

log = logging.getLogger("shipit.webhook")
log.setLevel(logging.INFO)

DEFAULT_API_BASE = "https://api.telegram.org"
PHYSICAL_ID = "telegram-webhook"
TOKEN_PATTERN = re.compile(r"^[0-9]+:[A-Za-z0-9_-]+$")
SECRET_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
TIMEOUT_S = 10


class WebhookError(Exception):
    """Registration failed for a reason worth showing the owner in the deploy output."""


def api_base(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return (env.get("SHIPIT_TELEGRAM_API_BASE") or DEFAULT_API_BASE).rstrip("/")


def set_webhook_params(url: str, secret_token: str, allowed_updates: Sequence[str]) -> dict:
    """The setWebhook body: our URL, the header secret, and nothing dropped on the floor."""
    if not url.startswith("https://"):
        raise WebhookError(f"Telegram only delivers to https URLs, got {url!r}")
    if not SECRET_TOKEN_PATTERN.match(secret_token):
        raise WebhookError("the webhook secret must be 1-256 characters of A-Z a-z 0-9 _ -")
    return {
        "url": url,
        "secret_token": secret_token,
        "allowed_updates": list(allowed_updates),
        # Messages sent while the stack was being (re)deployed still deserve an answer.
        "drop_pending_updates": False,
    }


def build_request(
    base: str, token: str, method: str, params: Mapping[str, Any]
) -> urllib.request.Request:
    """A Bot API POST with a JSON body (pure: no I/O)."""
    if not TOKEN_PATTERN.match(token):
        raise WebhookError(
            "the bot token secret does not hold a BotFather token (digits:letters); "
            "store it as the README's 'Deploy to AWS' section shows, then deploy again"
        )
    return urllib.request.Request(
        f"{base.rstrip('/')}/bot{token}/{method}",
        data=json.dumps(params).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )


def call_telegram(request: urllib.request.Request, token: str) -> Any:
    """Send one Bot API request; raise WebhookError with Telegram's description on failure."""
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            body = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read().decode("utf-8"))
        except (ValueError, OSError):
            body = {"ok": False, "description": f"HTTP {exc.code}"}
    except (urllib.error.URLError, OSError, ValueError) as exc:
        # The URL holds the token; make sure no message ever carries it.
        raise WebhookError(
            f"could not reach Telegram: {str(exc).replace(token, '<token>')}"
        ) from None
    if not body.get("ok"):
        description = str(body.get("description", "unknown error")).replace(token, "<token>")
        raise WebhookError(f"Telegram refused: {description}")
    return body.get("result")


def read_secret(arn: str) -> str:
    import boto3  # from the Lambda runtime; imported here so unit tests need no AWS

    return boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"].strip()


def apply(event: Mapping[str, Any], fetch_secret: Callable[[str], str] | None = None) -> str:
    """Do what the CloudFormation event asks; return a short description of what happened."""
    fetch_secret = fetch_secret or read_secret
    props = event.get("ResourceProperties", {})
    token = fetch_secret(props["BotTokenSecretArn"])
    base = api_base()
    if event["RequestType"] == "Delete":
        params = {"drop_pending_updates": False}
        call_telegram(build_request(base, token, "deleteWebhook", params), token)
        return "webhook removed"
    params = set_webhook_params(
        props["WebhookUrl"], fetch_secret(props["WebhookSecretArn"]), props["AllowedUpdates"]
    )
    call_telegram(build_request(base, token, "setWebhook", params), token)
    return f"webhook set to {props['WebhookUrl']}"


def send_response(event: Mapping[str, Any], status: str, reason: str) -> None:
    """PUT the result to CloudFormation's pre-signed URL (the custom resource protocol)."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": event.get("PhysicalResourceId") or PHYSICAL_ID,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": True,
            "Data": {},
        }
    ).encode("utf-8")
    request = urllib.request.Request(
        event["ResponseURL"],
        data=body,
        # The pre-signed URL was signed without a content type.
        headers={"Content-Type": "", "Content-Length": str(len(body))},
        method="PUT",
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        response.read()


def handler(event: Mapping[str, Any], context: object) -> None:
    request_type = event.get("RequestType")
    try:
        reason = apply(event)
        status = "SUCCESS"
    except Exception as exc:  # noqa: BLE001 - every failure must still answer CloudFormation
        reason = str(exc) if isinstance(exc, WebhookError) else f"{type(exc).__name__}: {exc}"
        # Removing the webhook is best effort: a teardown must not stall on Telegram or on a
        # secret the owner already deleted.
        status = "SUCCESS" if request_type == "Delete" else "FAILED"
    log.info("%s: %s (%s)", request_type, status, reason)
    send_response(event, status, reason)
