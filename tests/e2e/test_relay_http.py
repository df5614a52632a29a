"""The real relay over real HTTP: API Gateway stand-in → relay → Lambda endpoint and the SDK's
local runner → the real lifecycle → AgentCore emulator → fake agent."""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import time

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from local import agentcore_emulator, apigw
from local.lambda_emulator import start_lifecycle_host
from local.servers import serve_in_thread
from relay import handler as relay
from relay import lifecycle
from relay.texts import text
from tests.aws_standins import secrets_manager

SECRET = "e2e-Secret_token-123"
ALLOWED = 4242
STRANGER = 666
ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/shipit-abc"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:shipit-lifecycle:live"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def message_update(update_id: int, user: int = ALLOWED, chat: int = ALLOWED) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 10,
            "date": 1_700_000_000,
            "chat": {"id": chat, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": "Ada"},
            "text": "make the offset field bigger",
        },
    }


def callback_update(update_id: int, user: int = ALLOWED) -> dict:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": "cbq-1",
            "from": {"id": user, "is_bot": False, "first_name": "Ada"},
            "chat_instance": "ci",
            "data": "ship",
            "message": {"message_id": 11, "date": 1, "chat": {"id": ALLOWED, "type": "private"}},
        },
    }


class FakeAgent:
    """A recording stand-in for the agent container's POST /invocations."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.arrived = threading.Condition()

    async def invocations(self, request: Request) -> JSONResponse:
        call = {"headers": dict(request.headers), "payload": await request.json()}
        with self.arrived:
            self.calls.append(call)
            self.arrived.notify_all()
        return JSONResponse({"accepted": True})

    def wait_calls(self, count: int, timeout: float = 30.0) -> list[dict]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.calls) >= count, timeout), self.calls
            return list(self.calls)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/invocations", self.invocations, methods=["POST"])])


AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def stack():
    """Fake agent, AgentCore emulator, the lifecycle on the local runner, API Gateway stand-in."""
    agent = FakeAgent()
    servers = [serve_in_thread(agent.app(), name="fake-agent")]
    servers.append(
        serve_in_thread(agentcore_emulator.create_app(servers[0].url, ARN), name="agentcore")
    )
    servers.append(serve_in_thread(apigw.create_app(), name="apigw"))
    with pytest.MonkeyPatch.context() as mp:
        for name, value in AWS.items():  # the runner's own boto3 client signs with these
            mp.setenv(name, value)
        host = start_lifecycle_host(FUNCTION, lifecycle.handler)
    yield {
        "agent": agent,
        "agent_url": servers[0].url,
        "emulator": servers[1].url,
        "apigw": servers[2].url,
        "lambda": host,
    }
    host.stop()
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def relay_env(stack, monkeypatch, tmp_path):
    """Isolated env: dummy AWS credentials, relay and lifecycle settings, local endpoints."""
    for name in list(os.environ):
        if name.startswith(("SHIPIT_", "AWS_")):
            monkeypatch.delenv(name)
    env = {
        **AWS,
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE": stack["emulator"],
        "AWS_ENDPOINT_URL_LAMBDA": stack["lambda"].url,
        "SHIPIT_WEBHOOK_SECRET": SECRET,
        "SHIPIT_ALLOWED_USER_IDS": f"{ALLOWED}, 77",
        "SHIPIT_LIFECYCLE_FUNCTION_ARN": FUNCTION,
        "SHIPIT_AGENT_RUNTIME_ARN": ARN,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    stack["agent"].calls.clear()
    stack["lambda"].emulator.started.clear()
    httpx.delete(f"{stack['emulator']}/_emulator/invocations").raise_for_status()
    monkeypatch.setattr(lifecycle, "_client", None)
    relay._reset_for_tests()  # settings and who was answered are per container: start cold
    yield stack
    relay._reset_for_tests()


def post(stack, body, secret: str | None = SECRET, content_type="application/json"):
    headers = {"content-type": content_type}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{stack['apigw']}/telegram", content=content, headers=headers, timeout=30)


def started(stack) -> list:
    return stack["lambda"].emulator.executions()


def invocations(stack) -> list[dict]:
    return httpx.get(f"{stack['emulator']}/_emulator/invocations").json()["invocations"]


def finished(stack, arn: str, timeout: float = 30.0) -> dict:
    """The execution as GetDurableExecution reports it (real boto3), once it has ended."""
    client = boto3.session.Session().client("lambda")
    deadline = time.monotonic() + timeout
    while True:
        execution = client.get_durable_execution(DurableExecutionArn=arn)
        if execution["Status"] != "RUNNING" or time.monotonic() > deadline:
            return execution
        time.sleep(0.05)  # polling a status with a deadline, not a sleep as synchronisation


def assert_nothing_started(stack) -> None:
    assert started(stack) == []
    assert invocations(stack) == []
    assert stack["agent"].calls == []


def typing(chat: int = ALLOWED) -> dict:
    return {"method": "sendChatAction", "chat_id": chat, "action": "typing"}


# ---------------------------------------------------------------- relay behaviour


def test_missing_secret_is_403(relay_env):
    assert post(relay_env, message_update(1), secret=None).status_code == 403
    assert_nothing_started(relay_env)


def test_wrong_secret_is_403_even_for_garbage(relay_env):
    assert post(relay_env, message_update(2), secret="nope").status_code == 403
    assert post(relay_env, b"{not json", secret="nope").status_code == 403
    assert_nothing_started(relay_env)


def test_stranger_gets_one_polite_line_a_day_and_costs_nothing(relay_env):
    first = post(relay_env, message_update(3, user=STRANGER, chat=STRANGER))
    assert first.status_code == 200
    assert first.json() == {
        "method": "sendMessage",
        "chat_id": STRANGER,
        "text": text("stranger", user_id=STRANGER),
    }
    assert str(STRANGER) in first.json()["text"]
    again = post(relay_env, message_update(4, user=STRANGER, chat=STRANGER))
    assert (again.status_code, again.json()) == (200, {"ok": True})
    assert_nothing_started(relay_env)


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"no": "update_id"}', b""])
def test_malformed_body_is_200_and_not_forwarded(relay_env, body):
    # 200 by design: Telegram would redeliver a non-2xx for 24 h and the bytes never improve.
    assert post(relay_env, body).status_code == 200
    assert_nothing_started(relay_env)


def test_good_update_starts_one_lifecycle_that_delivers_it(relay_env):
    update = message_update(4)
    response = post(relay_env, update)
    assert (response.status_code, response.json()) == (200, typing())

    [execution] = started(relay_env)
    assert execution.name == relay.execution_name(update)
    assert json.loads(execution.payload) == relay.lifecycle_input(update, ALLOWED)
    [agent_call] = relay_env["agent"].wait_calls(1)
    session_id = relay.session_id_for_chat(ALLOWED)
    assert len(session_id) >= 33
    assert agent_call["payload"] == {"update": update}
    assert agent_call["headers"]["x-amzn-bedrock-agentcore-runtime-session-id"] == session_id
    done = finished(relay_env, execution.arn)
    assert done["Status"] == "SUCCEEDED"
    assert json.loads(done["Result"]) == {"outcome": "delivered"}


def test_a_redelivered_update_starts_one_execution_and_reaches_the_agent_once(relay_env):
    update = message_update(12)
    for _ in range(3):
        assert post(relay_env, update).status_code == 200
    [execution] = started(relay_env)
    assert finished(relay_env, execution.arn)["Status"] == "SUCCEEDED"
    assert [c["payload"] for c in relay_env["agent"].calls] == [{"update": update}]


def test_callback_query_from_allowed_user_is_forwarded(relay_env):
    update = callback_update(5)
    assert post(relay_env, update).status_code == 200
    [call] = relay_env["agent"].wait_calls(1)
    assert call["payload"] == {"update": update}
    [invocation] = invocations(relay_env)
    assert invocation["session_id"] == relay.session_id_for_chat(ALLOWED)


def test_base64_body_is_decoded(relay_env):
    # HTTP API base64-encodes non-text media types; the relay must not care.
    update = message_update(6)
    response = post(relay_env, json.dumps(update).encode(), content_type="application/octet-stream")
    assert response.status_code == 200
    assert [c["payload"] for c in relay_env["agent"].wait_calls(1)] == [{"update": update}]


@pytest.mark.parametrize(
    "function", [FUNCTION.replace("shipit-lifecycle", "other"), FUNCTION.rsplit(":", 1)[0]]
)
def test_a_lifecycle_that_cannot_start_is_500_so_telegram_retries(relay_env, monkeypatch, function):
    # An unknown function, and an unqualified ARN (durable functions refuse those).
    monkeypatch.setenv("SHIPIT_LIFECYCLE_FUNCTION_ARN", function)
    relay._reset_for_tests()
    assert post(relay_env, message_update(7)).status_code == 500
    assert_nothing_started(relay_env)


def test_same_chat_same_session_across_updates(relay_env):
    for update_id in (8, 9):
        assert post(relay_env, message_update(update_id)).status_code == 200
    relay_env["agent"].wait_calls(2)
    assert len({c["session_id"] for c in invocations(relay_env)}) == 1


def test_secret_from_secrets_manager(relay_env, monkeypatch):
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shipit/webhook-AbCdEf"
    app = secrets_manager({arn: SECRET + "\n"})
    server = serve_in_thread(app, name="secrets-manager")
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", server.url)
        monkeypatch.delenv("SHIPIT_WEBHOOK_SECRET")
        monkeypatch.setenv("SHIPIT_WEBHOOK_SECRET_ARN", arn)
        relay._reset_for_tests()
        assert post(relay_env, message_update(10), secret="wrong").status_code == 403
        assert post(relay_env, message_update(11)).status_code == 200
        assert app.state.calls == 1  # fetched once per container, signed as botocore signs
    finally:
        server.stop()
    assert [c["payload"]["update"]["update_id"] for c in relay_env["agent"].wait_calls(1)] == [11]


# ---------------------------------------------------------------- the stand-ins themselves


def test_apigw_builds_a_payload_2_event():
    seen = []

    def capture(event, context):
        seen.append((event, context.get_remaining_time_in_millis(), context.aws_request_id))
        return {"statusCode": 201, "headers": {"x-one": "1"}, "body": "done"}

    server = serve_in_thread(apigw.create_app(handler=capture), name="apigw-capture")
    try:
        response = httpx.post(
            f"{server.url}/telegram?a=1&a=2",
            content=b"\x00\x01",
            headers=[("X-Multi", "one"), ("X-Multi", "two"), ("Cookie", "c1=v1; c2=v2")],
        )
        missing = httpx.get(f"{server.url}/telegram")
    finally:
        server.stop()
    assert (response.status_code, response.text, response.headers["x-one"]) == (201, "done", "1")
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})
    [(event, remaining_ms, request_id)] = seen
    assert 0 < remaining_ms <= 30_000 and request_id
    assert (event["version"], event["routeKey"], event["rawPath"]) == (
        "2.0",
        "POST /telegram",
        "/telegram",
    )
    assert event["rawQueryString"] == "a=1&a=2"
    assert event["queryStringParameters"] == {"a": "1,2"}
    assert event["headers"]["x-multi"] == "one,two"
    assert "cookie" not in event["headers"] and event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["isBase64Encoded"] and base64.b64decode(event["body"]) == b"\x00\x01"
    http = event["requestContext"]["http"]
    assert (http["method"], http["path"], http["sourceIp"]) == ("POST", "/telegram", "127.0.0.1")
    assert event["requestContext"]["requestId"] == response.headers["apigw-requestid"]
    assert isinstance(event["requestContext"]["timeEpoch"], int)


@pytest.mark.parametrize(
    ("result", "status", "body"),
    [
        ({"hello": "world"}, 200, '{"hello": "world"}'),
        ("plain", 200, "plain"),
        ({"statusCode": "nope"}, 500, '{"message":"Internal Server Error"}'),
    ],
)
def test_apigw_maps_results_like_payload_2(result, status, body):
    server = serve_in_thread(apigw.create_app(handler=lambda e, c: result), name="apigw-map")
    try:
        response = httpx.post(f"{server.url}/telegram", content=b"{}")
    finally:
        server.stop()
    assert (response.status_code, response.text) == (status, body)


def test_emulator_errors_have_the_shapes_boto3_expects(relay_env):
    client = boto3.session.Session().client("bedrock-agentcore")
    with pytest.raises(ClientError) as err:
        client.invoke_agent_runtime(
            agentRuntimeArn=ARN + "-other", runtimeSessionId="s" * 40, payload=b"{}"
        )
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    # boto3 checks the 33-char minimum itself, so the service-side check needs a raw request.
    encoded = ARN.replace(":", "%3A").replace("/", "%2F")
    raw = httpx.post(
        f"{relay_env['emulator']}/runtimes/{encoded}/invocations",
        content=b"{}",
        headers={agentcore_emulator.SESSION_HEADER: "too-short"},
    )
    assert raw.status_code == 400
    assert raw.headers["x-amzn-errortype"] == "ValidationException"
    assert raw.json()["reason"] == "FieldValidationFailed"

    ok = client.invoke_agent_runtime(
        agentRuntimeArn="shipit-abc",
        accountId="123456789012",
        runtimeSessionId="s" * 40,
        payload=b'{"ping": 1}',
        qualifier="DEFAULT",
    )
    assert ok["runtimeSessionId"] == "s" * 40 and ok["contentType"] == "application/json"
    assert json.loads(ok["response"].read()) == {"accepted": True}
    assert [c["status"] for c in invocations(relay_env)] == [404, 400, 200]


# ---------------------------------------------------------------- the chat inbox (agent/inbox.py)


@pytest.fixture
def inbox(relay_env, monkeypatch):
    """The S3 stand-in as the inbox bucket; the relay's settings re-read."""
    from local import s3_standin

    app = s3_standin.create_app("inbox-bucket")
    server = serve_in_thread(app, name="s3")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", server.url)
    monkeypatch.setenv("SHIPIT_INBOX_BUCKET", "inbox-bucket")
    relay._reset_for_tests()
    yield app.state.buckets
    server.stop()


def test_the_update_is_in_its_chats_inbox_before_telegram_is_answered(relay_env, inbox):
    update = message_update(21)
    response = post(relay_env, update)
    assert response.status_code == 200
    [key] = inbox.keys("inbox-bucket")  # written during the request, before the 200
    assert re.fullmatch(rf"{ALLOWED}/\d{{13}}-0*21\.json", key)
    assert json.loads(inbox.objects["inbox-bucket"][key]) == update
    # Read back with real boto3, as the agent reads it.
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL_S3"])
    listed = s3.list_objects_v2(Bucket="inbox-bucket", Prefix=f"{ALLOWED}/")
    assert [o["Key"] for o in listed["Contents"]] == [key]
    [execution] = started(relay_env)
    assert json.loads(execution.payload)["inbox_key"] == key
    [call] = relay_env["agent"].wait_calls(1)
    assert call["payload"] == {"update": update, "inbox_key": key}


def test_a_chats_inbox_keys_sort_in_the_order_telegram_sent(relay_env, inbox):
    # Telegram sends a chat's next update only after the last was answered.
    for update_id in (9, 10, 8):  # ids are not the order; the relay's receive time is
        assert post(relay_env, message_update(update_id)).status_code == 200
    keys = inbox.keys("inbox-bucket")
    assert [int(k.rsplit("-", 1)[1].split(".")[0]) for k in keys] == [9, 10, 8]


def test_an_inbox_outage_is_500_and_starts_nothing(relay_env, inbox):
    inbox.fail = True
    assert post(relay_env, message_update(22)).status_code == 500  # Telegram redelivers
    assert_nothing_started(relay_env)


def test_the_relays_s3_signature_is_botocores():
    import datetime as dt

    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    from relay import aws_call

    body = b'{"update_id": 1}'
    url = aws_call.object_url("inbox-bucket", "-1001/0001700000000-000000000001.json", {})
    headers = {
        "Content-Type": "application/json",
        "x-amz-content-sha256": __import__("hashlib").sha256(body).hexdigest(),
    }
    now = dt.datetime(2026, 12, 1, 23, 0, tzinfo=dt.UTC)
    creds = aws_call.Credentials("AKIDEXAMPLE", "secret", "token")
    ours = aws_call.sign(
        "PUT", url, headers, body, service="s3", region_name="us-east-1", credentials=creds, now=now
    )
    unsigned = {k: v for k, v in ours.items() if k != "Authorization"}
    request = AWSRequest(method="PUT", url=url, data=body, headers=unsigned)
    request.context["timestamp"] = now.strftime("%Y%m%dT%H%M%SZ")
    auth = S3SigV4Auth(BotoCredentials("AKIDEXAMPLE", "secret", "token"), "s3", "us-east-1")
    expected = auth.signature(
        auth.string_to_sign(request, auth.canonical_request(request)), request
    )
    assert (
        url
        == "https://inbox-bucket.s3.us-east-1.amazonaws.com/-1001/0001700000000-000000000001.json"
    )
    assert ours["Authorization"].endswith(f"Signature={expected}")
