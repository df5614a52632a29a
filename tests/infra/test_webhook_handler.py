"""The webhook-registration Lambda: its pure request building, and its CloudFormation protocol on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from infra.webhook_lambda import handler as webhook

TOKEN = "123456:ABCdef_ghi-JKL"
SECRET = "s3cretTOKEN_with-dash"
SECRETS = {"arn:token": TOKEN, "arn:webhook": SECRET}


def test_set_webhook_params() -> None:
    params = webhook.set_webhook_params(
        "https://abc.execute-api.eu-west-1.amazonaws.com/telegram", SECRET, ["message"]
    )
    assert params == {
        "url": "https://abc.execute-api.eu-west-1.amazonaws.com/telegram",
        "secret_token": SECRET,
        "allowed_updates": ["message"],
        "drop_pending_updates": False,
    }


@pytest.mark.parametrize(
    ("url", "secret"),
    [("http://insecure.example/telegram", SECRET), ("https://ok/telegram", "has space")],
)
def test_set_webhook_params_refuses_what_telegram_would(url: str, secret: str) -> None:
    with pytest.raises(webhook.WebhookError):
        webhook.set_webhook_params(url, secret, ["message"])


def test_build_request_is_a_json_post_to_the_bot_method() -> None:
    request = webhook.build_request("http://127.0.0.1:9/", TOKEN, "setWebhook", {"a": [1]})
    assert request.full_url == f"http://127.0.0.1:9/bot{TOKEN}/setWebhook"
    assert request.get_method() == "POST"
    assert request.get_header("Content-type") == "application/json"
    assert json.loads(request.data) == {"a": [1]}


@pytest.mark.parametrize("token", ["", "PLACEHOLDER", "123:abc def", "abc:123"])
def test_build_request_refuses_a_missing_or_malformed_token(token: str) -> None:
    with pytest.raises(webhook.WebhookError, match="BotFather"):
        webhook.build_request("https://api.telegram.org", token, "getMe", {})


def test_api_base_from_environment() -> None:
    assert webhook.api_base({}) == "https://api.telegram.org"
    assert webhook.api_base({"SHIPIT_TELEGRAM_API_BASE": "http://127.0.0.1:8081/"}) == (
        "http://127.0.0.1:8081"
    )


class _Recorder(BaseHTTPRequestHandler):
    """Plays both Telegram's Bot API and CloudFormation's pre-signed response URL."""

    calls: list[tuple[str, str, dict]] = []
    telegram_reply: tuple[int, dict] = (200, {"ok": True, "result": True})

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length", 0))
        return json.loads(self.rfile.read(length) or b"{}")

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        type(self).calls.append(("POST", self.path, self._body()))
        status, reply = type(self).telegram_reply
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self) -> None:  # noqa: N802
        type(self).calls.append(("PUT", self.path, self._body()))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    _Recorder.calls = []
    _Recorder.telegram_reply = (200, {"ok": True, "result": True})
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("SHIPIT_TELEGRAM_API_BASE", base)
    monkeypatch.setattr(webhook, "read_secret", lambda arn: SECRETS[arn])
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _event(base: str, request_type: str) -> dict:
    event = {
        "RequestType": request_type,
        "ResponseURL": f"{base}/cfn-response?X-Amz-Signature=abc",
        "StackId": "arn:aws:cloudformation:eu-west-1:111111111111:stack/Shipit/guid",
        "RequestId": "req-1",
        "LogicalResourceId": "TelegramWebhook",
        "ResourceProperties": {
            "WebhookUrl": "https://abc.execute-api.eu-west-1.amazonaws.com/telegram",
            "BotTokenSecretArn": "arn:token",
            "WebhookSecretArn": "arn:webhook",
            "AllowedUpdates": ["message", "callback_query"],
            "Revision": "1",
        },
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = webhook.PHYSICAL_ID
    return event


def test_create_sets_the_webhook_and_reports_success(loopback: str) -> None:
    webhook.handler(_event(loopback, "Create"), None)
    (telegram, response) = _Recorder.calls
    assert telegram == (
        "POST",
        f"/bot{TOKEN}/setWebhook",
        {
            "url": "https://abc.execute-api.eu-west-1.amazonaws.com/telegram",
            "secret_token": SECRET,
            "allowed_updates": ["message", "callback_query"],
            "drop_pending_updates": False,
        },
    )
    method, path, body = response
    assert (method, path) == ("PUT", "/cfn-response?X-Amz-Signature=abc")
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == webhook.PHYSICAL_ID
    assert (body["RequestId"], body["LogicalResourceId"]) == ("req-1", "TelegramWebhook")
    assert SECRET not in json.dumps(body) and TOKEN not in json.dumps(body)


def test_telegram_refusal_fails_the_deploy_without_leaking_the_token(loopback: str) -> None:
    _Recorder.telegram_reply = (401, {"ok": False, "description": f"Unauthorized {TOKEN}"})
    webhook.handler(_event(loopback, "Update"), None)
    body = _Recorder.calls[-1][2]
    assert body["Status"] == "FAILED"
    assert "Telegram refused: Unauthorized <token>" in body["Reason"]
    assert TOKEN not in body["Reason"]


def test_delete_removes_the_webhook(loopback: str) -> None:
    webhook.handler(_event(loopback, "Delete"), None)
    telegram, response = _Recorder.calls
    assert telegram == ("POST", f"/bot{TOKEN}/deleteWebhook", {"drop_pending_updates": False})
    assert response[2]["Status"] == "SUCCESS"


def test_delete_never_blocks_a_teardown(loopback: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def gone(arn: str) -> str:
        raise RuntimeError("ResourceNotFoundException: secret deleted")

    monkeypatch.setattr(webhook, "read_secret", gone)
    webhook.handler(_event(loopback, "Delete"), None)
    ((method, _, body),) = _Recorder.calls
    assert method == "PUT" and body["Status"] == "SUCCESS"


def test_empty_token_secret_explains_what_to_do(
    loopback: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook, "read_secret", lambda arn: "" if arn == "arn:token" else SECRET)
    webhook.handler(_event(loopback, "Create"), None)
    ((method, _, body),) = _Recorder.calls
    assert method == "PUT" and body["Status"] == "FAILED"
    assert "Deploy to AWS" in body["Reason"]
