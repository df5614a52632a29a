"""The model proxy injects the key or a SigV4 signature, streams, and keeps secrets from the CLI."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import socket
import struct
import threading
from pathlib import Path

import anyio
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agent.guard.env import cli_env
from agent.model_proxy import MODEL_ENV_NAMES, PLACEHOLDER_API_KEY, ModelProxy, cli_model_env
from agent.settings import Settings
from local.scripted_claude import ScriptedClaude, _block_json, _sse, call, say
from local.servers import serve_in_thread

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def granted(proxy: ModelProxy) -> str:
    """The proxy's base URL for one open grant (the proxy serves nothing else)."""
    grant = getattr(proxy, "_test_grant", None) or proxy.open(10.0)
    proxy._test_grant = grant
    return proxy.grant_url(grant)


@pytest.fixture
def clean_env(monkeypatch):
    """No model routing or credentials in this process: the SDK layers options.env over it."""
    for name in list(os.environ):
        if name.startswith(("ANTHROPIC_", "CLAUDE_", "AWS_")) or name == "API_TIMEOUT_MS":
            monkeypatch.delenv(name)
    return monkeypatch


class Recorder:
    """A fake upstream: records every request, answers with `reply(request) -> Response`."""

    def __init__(self, reply) -> None:
        self.seen: list[dict] = []
        self._reply = reply

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        self.seen.append(
            {
                "method": request.method,
                "raw_path": request.scope["raw_path"].decode(),
                "query": request.scope["query_string"].decode(),
                "headers": dict(request.headers),
                "body": body,
            }
        )
        return await self._reply(request)

    def app(self) -> Starlette:
        methods = ["GET", "POST", "PUT", "DELETE"]
        return Starlette(routes=[Route("/{path:path}", self.handle, methods=methods)])


@pytest.fixture
def serve():
    handles = []

    def start(app):
        handles.append(serve_in_thread(app))
        return handles[-1].url

    yield start
    for handle in handles:
        handle.stop()


# --- the CLI's environment ---------------------------------------------------------------


def test_cli_env_anthropic_has_only_placeholder_and_proxy():
    settings = Settings.from_env(
        {
            "ANTHROPIC_API_KEY": "sk-real-123",
            "ANTHROPIC_MODEL": "claude-x",
            "CLAUDE_CODE_MAX_RETRIES": "0",
        }
    )
    env = cli_model_env(settings, "http://127.0.0.1:9", source={"CLAUDE_CODE_MAX_RETRIES": "0"})
    assert env == {
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
        "ANTHROPIC_API_KEY": PLACEHOLDER_API_KEY,
        "ANTHROPIC_MODEL": "claude-x",
        "CLAUDE_CODE_MAX_RETRIES": "0",
    }
    assert set(env) <= set(MODEL_ENV_NAMES)


def test_cli_env_bedrock_skips_auth_and_has_no_key():
    settings = Settings.from_env(
        {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_REGION": "eu-west-1", "ANTHROPIC_API_KEY": "sk-stray"}
    )
    env = cli_model_env(settings, "http://127.0.0.1:9", source={})
    assert env == {
        "CLAUDE_CODE_USE_BEDROCK": "1",
        "ANTHROPIC_BEDROCK_BASE_URL": "http://127.0.0.1:9",
        "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1",
        "AWS_REGION": "eu-west-1",
    }


# --- Anthropic mode ------------------------------------------------------------------------


def test_anthropic_key_injected_and_stream_unbuffered(serve, clean_env):
    release = threading.Event()

    async def reply(request: Request) -> Response:
        if request.url.path != "/v1/messages":
            return JSONResponse({"path": request.url.path}, headers={"request-id": "req_1"})

        async def events():
            yield b"event: message_start\ndata: {}\n\n"
            # Held until the client has the first event: proves the proxy does not buffer.
            await anyio.to_thread.run_sync(release.wait, 10)
            yield b"event: message_stop\ndata: {}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    upstream = Recorder(reply)
    base = serve(upstream.app())
    settings = Settings.from_env({"ANTHROPIC_BASE_URL": base, "ANTHROPIC_API_KEY": "sk-real-123"})
    body = json.dumps(
        {"model": "m", "stream": True, "messages": [{"role": "user", "content": "é"}]}
    )
    with ModelProxy.from_settings(settings) as proxy, httpx.Client(timeout=10) as client:
        headers = {"x-api-key": PLACEHOLDER_API_KEY, "authorization": "Bearer nope"}
        url = f"{granted(proxy)}/v1/messages?beta=true"
        with client.stream("POST", url, headers=headers, content=body.encode()) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            chunks = response.iter_raw()
            assert next(chunks) == b"event: message_start\ndata: {}\n\n"
            release.set()
            assert b"".join(chunks) == b"event: message_stop\ndata: {}\n\n"

        other = client.get(f"{granted(proxy)}/v1/models/claude-x?limit=1", headers=headers)
        assert other.json() == {"path": "/v1/models/claude-x"}
        assert other.headers["request-id"] == "req_1"

    first, second = upstream.seen
    assert first["raw_path"] == "/v1/messages" and first["query"] == "beta=true"
    assert first["body"] == body.encode()
    for seen in (first, second):
        assert seen["headers"]["x-api-key"] == "sk-real-123"
        assert "authorization" not in seen["headers"]
    assert second["raw_path"] == "/v1/models/claude-x" and second["query"] == "limit=1"


def test_client_abort_closes_the_upstream_stream(serve, clean_env):
    closed = threading.Event()

    async def reply(_request):
        async def events():
            try:
                yield b"event: ping\ndata: {}\n\n"
                await anyio.Event().wait()  # a generation that would run on and on
            finally:
                closed.set()

        return StreamingResponse(events(), media_type="text/event-stream")

    settings = Settings.from_env({"ANTHROPIC_BASE_URL": serve(Recorder(reply).app())})
    with ModelProxy.from_settings(settings) as proxy, httpx.Client(timeout=10) as client:
        with client.stream("POST", f"{granted(proxy)}/v1/messages", content=b"{}") as response:
            assert next(response.iter_raw()) == b"event: ping\ndata: {}\n\n"
        # Leaving the block closes the connection: the proxy must drop its upstream stream.
        assert closed.wait(10)


def test_non_loopback_host_and_absolute_targets_are_refused(serve, clean_env):
    async def reply(_request):
        return JSONResponse({})

    upstream = Recorder(reply)
    settings = Settings.from_env(
        {"ANTHROPIC_BASE_URL": serve(upstream.app()), "ANTHROPIC_API_KEY": "k"}
    )
    with ModelProxy.from_settings(settings) as proxy:
        refused = httpx.get(f"{granted(proxy)}/v1/models", headers={"Host": "evil.example:80"})
        assert refused.status_code == 403
        assert "loopback" in refused.json()["error"]["message"]
        # An absolute-form target must not turn the proxy into a relay to another host.
        host, port = proxy.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            conn.sendall(
                b"GET http://evil.example/steal HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            )
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        assert answer.split(b" ", 2)[1] in (b"400", b"403")
    assert upstream.seen == []


def test_without_a_key_credentials_are_dropped_not_invented(serve, clean_env):
    async def reply(_request):
        return JSONResponse({"ok": True})

    upstream = Recorder(reply)
    settings = Settings.from_env({"ANTHROPIC_BASE_URL": serve(upstream.app())})
    with ModelProxy.from_settings(settings) as proxy:
        answer = httpx.post(
            f"{granted(proxy)}/v1/messages", headers={"x-api-key": "shipit-proxy"}, json={}
        )
        assert answer.json() == {"ok": True}
    assert "x-api-key" not in upstream.seen[0]["headers"]


def test_unreachable_upstream_is_a_502(clean_env):
    # Bound but never listening, and held for the whole test: connections are refused, and no
    # other process can start listening on the port meanwhile (closing it first would race).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        settings = Settings.from_env(
            {"ANTHROPIC_BASE_URL": f"http://127.0.0.1:{port}", "ANTHROPIC_API_KEY": "k"}
        )
        with ModelProxy.from_settings(settings) as proxy:
            answer = httpx.post(f"{granted(proxy)}/v1/messages", json={})
    assert answer.status_code == 502
    assert answer.json()["error"]["message"].startswith("upstream unreachable")


# --- Bedrock mode --------------------------------------------------------------------------

AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request, SignedHeaders=(?P<signed>[^,]+), Signature=(?P<signature>[0-9a-f]{64})"
)


def signature_valid(seen: dict, base: str, secret: str, token: str | None) -> bool:
    """Recompute the signature from what the upstream received, as AWS would."""
    match = AUTH.fullmatch(seen["headers"]["authorization"])
    assert match, seen["headers"]["authorization"]
    signed = match["signed"].split(";")
    url = base + seen["raw_path"] + (f"?{seen['query']}" if seen["query"] else "")
    request = AWSRequest(
        method=seen["method"],
        url=url,
        data=seen["body"],
        headers={name: seen["headers"][name] for name in signed},
    )
    request.context["timestamp"] = seen["headers"]["x-amz-date"]
    auth = SigV4Auth(Credentials(match["key"], secret, token), match["service"], match["region"])
    expected = auth.signature(
        auth.string_to_sign(request, auth.canonical_request(request)), request
    )
    return expected == match["signature"]


@pytest.fixture
def bedrock(serve, clean_env):
    """Runtime and control-plane fakes reached through the AWS endpoint overrides."""
    frames = bytes(range(256)) * 8  # stands in for binary event-stream frames

    async def runtime_reply(_request):
        return Response(frames, media_type="application/vnd.amazon.eventstream")

    async def control_reply(_request):
        return JSONResponse({"inferenceProfileSummaries": []})

    runtime, control = Recorder(runtime_reply), Recorder(control_reply)
    runtime_url, control_url = serve(runtime.app()), serve(control.app())
    clean_env.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", runtime_url)
    clean_env.setenv("AWS_ENDPOINT_URL_BEDROCK", control_url)
    clean_env.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    clean_env.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    clean_env.setenv("AWS_EC2_METADATA_DISABLED", "true")
    settings = Settings.from_env({"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_REGION": "us-west-2"})
    return settings, runtime, control, runtime_url, control_url, frames


def test_bedrock_signed_with_process_credentials_and_routed(bedrock, clean_env):
    settings, runtime, control, runtime_url, control_url, frames = bedrock
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    clean_env.setenv("AWS_SESSION_TOKEN", "session-token-example")
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "messages": []}).encode()
    model_path = "/model/us.anthropic.claude-x-v1%3A0/invoke-with-response-stream"
    with ModelProxy.from_settings(settings) as proxy, httpx.Client(timeout=10) as client:
        profiles = client.get(f"{granted(proxy)}/inference-profiles?type=SYSTEM_DEFINED")
        assert profiles.json() == {"inferenceProfileSummaries": []}
        headers = {"content-type": "application/json", "authorization": "stale", "x-amz-date": "1"}
        with client.stream(
            "POST", granted(proxy) + model_path, headers=headers, content=body
        ) as answer:
            assert answer.headers["content-type"] == "application/vnd.amazon.eventstream"
            assert b"".join(answer.iter_raw()) == frames

    [invoke], [listing] = runtime.seen, control.seen
    assert (
        listing["raw_path"] == "/inference-profiles" and listing["query"] == "type=SYSTEM_DEFINED"
    )
    assert invoke["raw_path"] == model_path and invoke["body"] == body
    for seen, base in ((invoke, runtime_url), (listing, control_url)):
        auth = seen["headers"]["authorization"]
        assert re.match(
            r"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\d{8}/us-west-2/bedrock/aws4_request", auth
        )
        assert re.fullmatch(r"\d{8}T\d{6}Z", seen["headers"]["x-amz-date"])
        assert seen["headers"]["x-amz-security-token"] == "session-token-example"
        assert signature_valid(seen, base, SECRET, "session-token-example")


def test_bedrock_credentials_are_read_per_request(bedrock):
    settings, runtime, *_ = bedrock
    keys = iter(["AKIDFIRST", "AKIDSECOND"])
    proxy = ModelProxy.from_settings(
        settings, aws_credentials=lambda: ReadOnlyCredentials(next(keys), SECRET, None)
    )
    with proxy, httpx.Client(timeout=10) as client:
        for _ in range(2):
            client.post(f"{granted(proxy)}/model/m/invoke-with-response-stream", content=b"{}")
    used = [AUTH.fullmatch(s["headers"]["authorization"])["key"] for s in runtime.seen]
    assert used == ["AKIDFIRST", "AKIDSECOND"]


def test_bedrock_without_credentials_is_a_502(bedrock):
    settings, runtime, *_ = bedrock
    with ModelProxy.from_settings(settings) as proxy:
        answer = httpx.post(f"{granted(proxy)}/model/m/invoke-with-response-stream", content=b"{}")
    assert answer.status_code == 502
    assert "AWS credentials" in answer.json()["error"]["message"]
    assert runtime.seen == []


# --- end to end with the real CLI ----------------------------------------------------------

ENV_SCRIPT = [call("Bash", command="env", description="env"), say("done")]


def cli_test_env(tmp_path: Path, settings: Settings, proxy_url: str) -> dict[str, str]:
    """What a boxed run gives the CLI (agent/guard/env.py), pointed at this proxy, unboxed."""
    model = cli_model_env(settings, proxy_url, source={})
    env = cli_env(str(tmp_path / "home"), str(tmp_path), str(tmp_path / "cfg"), model)
    return env | {"CLAUDE_CODE_MAX_RETRIES": "0"}  # a refusal ends the run, not a retry


async def run_cli(tmp_path: Path, settings: Settings, proxy_url: str) -> str:
    """One real CLI session through the proxy; returns its final answer."""
    from claude_agent_sdk import ClaudeAgentOptions, ResultMessage, query

    options = ClaudeAgentOptions(
        cwd=str(tmp_path),
        env=cli_test_env(tmp_path, settings, proxy_url),
        permission_mode="bypassPermissions",
        setting_sources=[],
        max_turns=5,
    )
    results = [m async for m in query(prompt="show the environment", options=options)]
    assert isinstance(results[-1], ResultMessage) and not results[-1].is_error, results[-1]
    return results[-1].result


async def test_real_cli_works_through_proxy_and_never_sees_the_key(tmp_path, serve, clean_env):
    scripted = ScriptedClaude.from_turns(ENV_SCRIPT)
    keys_seen: list[str | None] = []

    async def recording(scope, receive, send):
        if scope["type"] == "http":
            keys_seen.append(dict(scope["headers"]).get(b"x-api-key", b"").decode() or None)
        await scripted.app()(scope, receive, send)

    upstream = serve(recording)
    settings = Settings.from_env(
        {"ANTHROPIC_BASE_URL": upstream, "ANTHROPIC_API_KEY": "sk-secret-xyz"}
    )
    with ModelProxy.from_settings(settings) as proxy:
        assert await run_cli(tmp_path, settings, granted(proxy)) == "done"
        proxy_url = granted(proxy)

    assert len(scripted.requests) >= 2 and set(keys_seen) == {"sk-secret-xyz"}
    [bash] = scripted.tool_results()
    assert not bash["is_error"]
    # The model really saw the CLI's environment, proxy URL and placeholder, but not the key.
    assert f"ANTHROPIC_BASE_URL={proxy_url}" in bash["text"]
    assert f"ANTHROPIC_API_KEY={PLACEHOLDER_API_KEY}" in bash["text"]
    assert "sk-secret-xyz" not in bash["text"]


def event_frame(payload: bytes) -> bytes:
    """One AWS event-stream message (prelude, string headers, payload, CRC32s)."""
    fields = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    headers = b"".join(
        bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode()
        for k, v in fields.items()
    )
    prelude = struct.pack(">II", 12 + len(headers) + len(payload) + 4, len(headers))
    message = prelude + struct.pack(">I", binascii.crc32(prelude)) + headers + payload
    return message + struct.pack(">I", binascii.crc32(message))


async def test_real_cli_on_bedrock_through_proxy_holds_no_aws_credentials(
    tmp_path, bedrock, serve, clean_env
):
    settings, *_ = bedrock
    scripted = ScriptedClaude.from_turns(ENV_SCRIPT)

    async def reply(request: Request) -> Response:
        # Bedrock carries the Messages API's SSE events as {"bytes": base64(event)} frames.
        if not request.url.path.startswith("/model/"):
            return JSONResponse({"inferenceProfileSummaries": []})
        turn, n = scripted._next(json.loads(await request.body()))
        content = [_block_json(b) for b in turn.blocks]
        sse = _sse(
            f"msg_{n}", "m", content, turn.stop_reason, {"input_tokens": 1, "output_tokens": 1}
        )
        events = [line[6:] for line in sse.splitlines() if line.startswith("data: ")]
        frames = [
            event_frame(json.dumps({"bytes": base64.b64encode(e.encode()).decode()}).encode())
            for e in events
        ]
        return Response(b"".join(frames), media_type="application/vnd.amazon.eventstream")

    fake = Recorder(reply)
    fake_url = serve(fake.app())
    clean_env.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", fake_url)
    clean_env.setenv("AWS_ENDPOINT_URL_BEDROCK", fake_url)

    # The agent process's credentials, kept out of os.environ, which the SDK would hand the CLI.
    def credentials():
        return ReadOnlyCredentials("AKIDEXAMPLE", SECRET, "tok")

    with ModelProxy.from_settings(settings, aws_credentials=credentials) as proxy:
        assert await run_cli(tmp_path, settings, granted(proxy)) == "done"

    paths = [seen["raw_path"] for seen in fake.seen]
    assert "/inference-profiles" in paths and any(p.startswith("/model/") for p in paths)
    assert all(signature_valid(seen, fake_url, SECRET, "tok") for seen in fake.seen)
    [bash] = scripted.tool_results()
    assert "CLAUDE_CODE_SKIP_BEDROCK_AUTH=1" in bash["text"]
    assert "AKIDEXAMPLE" not in bash["text"] and SECRET not in bash["text"]
