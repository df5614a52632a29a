"""The real relay over real HTTP: API Gateway stand-in → relay → AgentCore emulator → fake agent."""

from __future__ import annotations

import base64
import json
import os

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from local import agentcore_emulator, apigw
from local.servers import serve_in_thread
from relay import handler as relay

SECRET = "e2e-Secret_token-123"
ALLOWED = 4242
STRANGER = 666
ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/shipit-abc"
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
        self.fail = False

    async def invocations(self, request: Request) -> JSONResponse:
        self.calls.append({"headers": dict(request.headers), "payload": await request.json()})
        if self.fail:
            return JSONResponse({"error": "boom"}, status_code=500)
        return JSONResponse({"accepted": True})

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/invocations", self.invocations, methods=["POST"])])


@pytest.fixture(scope="module")
def stack():
    """Fake agent, AgentCore emulator and API Gateway stand-in, each on its own loopback port."""
    agent = FakeAgent()
    servers = [serve_in_thread(agent.app(), name="fake-agent")]
    servers.append(
        serve_in_thread(agentcore_emulator.create_app(servers[0].url, ARN), name="agentcore")
    )
    servers.append(serve_in_thread(apigw.create_app(), name="apigw"))
    yield {
        "agent": agent,
        "agent_url": servers[0].url,
        "emulator": servers[1].url,
        "apigw": servers[2].url,
    }
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def relay_env(stack, monkeypatch, tmp_path):
    """Isolated env: dummy AWS credentials, relay settings, the emulator as AgentCore endpoint."""
    for name in list(os.environ):
        if name.startswith(("SHIPIT_", "AWS_")):
            monkeypatch.delenv(name)
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE": stack["emulator"],
        "SHIPIT_WEBHOOK_SECRET": SECRET,
        "SHIPIT_ALLOWED_USER_IDS": f"{ALLOWED}, 77",
        "SHIPIT_AGENT_RUNTIME_ARN": ARN,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    stack["agent"].calls.clear()
    stack["agent"].fail = False
    httpx.delete(f"{stack['emulator']}/_emulator/invocations").raise_for_status()
    relay._reset_for_tests()  # settings and client are cached per container: start cold
    yield stack
    relay._reset_for_tests()


def post(stack, body, secret: str | None = SECRET, content_type="application/json"):
    headers = {"content-type": content_type}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{stack['apigw']}/telegram", content=content, headers=headers, timeout=30)


def invocations(stack) -> list[dict]:
    return httpx.get(f"{stack['emulator']}/_emulator/invocations").json()["invocations"]


def assert_nothing_forwarded(stack) -> None:
    assert invocations(stack) == []
    assert stack["agent"].calls == []


# ---------------------------------------------------------------- relay behaviour


def test_missing_secret_is_403(relay_env):
    assert post(relay_env, message_update(1), secret=None).status_code == 403
    assert_nothing_forwarded(relay_env)


def test_wrong_secret_is_403_even_for_garbage(relay_env):
    assert post(relay_env, message_update(2), secret="nope").status_code == 403
    assert post(relay_env, b"{not json", secret="nope").status_code == 403
    assert_nothing_forwarded(relay_env)


def test_stranger_is_dropped_with_200(relay_env):
    response = post(relay_env, message_update(3, user=STRANGER, chat=STRANGER))
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert_nothing_forwarded(relay_env)


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"no": "update_id"}', b""])
def test_malformed_body_is_200_and_not_forwarded(relay_env, body):
    # 200 by design: Telegram would redeliver a non-2xx for 24 h and the bytes never improve.
    assert post(relay_env, body).status_code == 200
    assert_nothing_forwarded(relay_env)


def test_good_update_is_forwarded_once(relay_env):
    update = message_update(4)
    response = post(relay_env, update)
    assert (response.status_code, response.json()) == (200, {"ok": True})

    [call] = invocations(relay_env)
    session_id = relay.session_id_for_chat(ALLOWED)
    assert len(session_id) >= 33
    assert (call["arn"], call["session_id"], call["status"]) == (ARN, session_id, 200)
    assert call["payload"] == {"update": update}
    assert call["content_type"] == "application/json"

    [agent_call] = relay_env["agent"].calls
    assert agent_call["payload"] == {"update": update}
    assert agent_call["headers"]["x-amzn-bedrock-agentcore-runtime-session-id"] == session_id


def test_callback_query_from_allowed_user_is_forwarded(relay_env):
    update = callback_update(5)
    assert post(relay_env, update).status_code == 200
    [call] = invocations(relay_env)
    assert call["payload"] == {"update": update}
    assert call["session_id"] == relay.session_id_for_chat(ALLOWED)


def test_base64_body_is_decoded(relay_env):
    # HTTP API base64-encodes non-text media types; the relay must not care.
    update = message_update(6)
    response = post(relay_env, json.dumps(update).encode(), content_type="application/octet-stream")
    assert response.status_code == 200
    assert [c["payload"] for c in invocations(relay_env)] == [{"update": update}]


def test_runtime_failure_is_500_so_telegram_retries(relay_env):
    relay_env["agent"].fail = True
    assert post(relay_env, message_update(7)).status_code == 500
    [call] = invocations(relay_env)
    assert (call["agent_status"], call["status"]) == (500, 424)


def test_same_chat_same_session_across_updates(relay_env):
    for update_id in (8, 9):
        assert post(relay_env, message_update(update_id)).status_code == 200
    assert len({c["session_id"] for c in invocations(relay_env)}) == 1


def test_secret_from_secrets_manager(relay_env, monkeypatch):
    # moto answers Secrets Manager; the AgentCore call goes to the emulator through the endpoint
    # override (moto leaves URLs it does not own alone).
    with mock_aws():
        sm = boto3.client("secretsmanager", region_name="us-east-1")
        arn = sm.create_secret(Name="shipit/webhook-secret", SecretString=SECRET)["ARN"]
        monkeypatch.delenv("SHIPIT_WEBHOOK_SECRET")
        monkeypatch.setenv("SHIPIT_WEBHOOK_SECRET_ARN", arn)
        relay._reset_for_tests()
        assert post(relay_env, message_update(10), secret="wrong").status_code == 403
        assert post(relay_env, message_update(11)).status_code == 200
    assert [c["payload"]["update"]["update_id"] for c in invocations(relay_env)] == [11]


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
