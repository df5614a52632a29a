"""The model proxy serves only open grants and holds each run to its dollar cap itself."""

from __future__ import annotations

import base64
import json
import struct
import zlib

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent.guard.budget import BudgetExhausted, Grant, Meter, Usage, prices_for
from agent.model_proxy import ModelProxy
from agent.settings import Settings
from local.servers import serve_in_thread

SONNET = "claude-sonnet-4-5"


def sse(input_tokens: int, output_tokens: int) -> bytes:
    events = [
        {
            "type": "message_start",
            "message": {"usage": {"input_tokens": input_tokens, "output_tokens": 1}},
        },
        {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "hi"}},
        {"type": "message_delta", "usage": {"output_tokens": output_tokens}},
        {"type": "message_stop"},
    ]
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def frame(event: dict) -> bytes:
    """One AWS event-stream message carrying a Bedrock chunk."""
    payload = json.dumps({"bytes": base64.b64encode(json.dumps(event).encode()).decode()}).encode()
    name, value = b":event-type", b"chunk"
    headers = bytes([len(name)]) + name + b"\x07" + struct.pack(">H", len(value)) + value
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def test_sse_usage_is_read_across_chunk_boundaries():
    meter = Meter("text/event-stream")
    data = sse(1000, 500)
    for i in range(0, len(data), 7):
        meter.feed(data[i : i + 7])
    usage = meter.finish()
    assert (usage.input, usage.output) == (1000, 500)
    assert usage.cost(SONNET) == pytest.approx((1000 * 3 + 500 * 15) / 1e6)


def test_bedrock_event_stream_usage_is_read():
    meter = Meter("application/vnd.amazon.eventstream")
    stream = frame({"type": "message_start", "message": {"usage": {"input_tokens": 200}}})
    stream += frame({"type": "message_delta", "usage": {"output_tokens": 50}})
    meter.feed(stream[:10])
    meter.feed(stream[10:])
    assert (meter.finish().input, meter.finish().output) == (200, 50)


def test_an_unreadable_response_is_charged_its_worst_case():
    meter = Meter("application/vnd.amazon.eventstream")
    meter.feed(b"\x00\x00\x00\x10garbage-garbage-garbage")
    assert meter.finish() is None
    grant = Grant(1.0)
    _, reserved = grant.reserve(json.dumps({"model": SONNET, "max_tokens": 1000}).encode(), SONNET)
    grant.settle(reserved, None, SONNET)
    assert grant.spent_usd == pytest.approx(reserved)


def test_max_tokens_is_lowered_to_what_is_left_and_then_refused():
    grant = Grant(0.01)
    body = json.dumps({"model": SONNET, "max_tokens": 32000, "messages": []}).encode()
    sent, reserved = grant.reserve(body, SONNET)
    lowered = json.loads(sent)["max_tokens"]
    assert 0 < lowered < 32000
    assert reserved <= 0.01 + 1e-9
    grant.settle(reserved, Usage(input=100, output=lowered), SONNET)
    with pytest.raises(BudgetExhausted):
        grant.reserve(body, SONNET)
    assert grant.exhausted


def test_unknown_models_pay_the_highest_price():
    assert prices_for("some-future-model") == max(prices_for(m) for m in ("opus", SONNET))


@pytest.fixture
def upstream():
    seen: list[dict] = []

    async def messages(request: Request):
        raw = await request.body()
        body = json.loads(raw)
        seen.append(body)
        # Like the real API: every input token is in the body, and it writes max_tokens.
        return Response(sse(len(raw) // 4, body["max_tokens"]), media_type="text/event-stream")

    server = serve_in_thread(Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])]))
    yield server.url, seen
    server.stop()


def spend_to_the_cap(proxy, client: httpx.Client, request: dict, cap: float = 0.1):
    """Open a grant of `cap` and call until the proxy refuses; (grant, its base URL)."""
    grant = proxy.open(cap)
    base = proxy.grant_url(grant)
    statuses = [client.post(f"{base}/v1/messages", json=request).status_code for _ in range(8)]
    assert statuses[0] == 200 and statuses[-1] == 400
    refusal = client.post(f"{base}/v1/messages", json=request).json()
    assert refusal["error"]["type"] == "budget_exceeded"
    return grant, base


def test_the_proxy_serves_only_open_grants_and_stops_at_the_cap(upstream, tmp_path):
    url, seen = upstream
    settings = Settings.from_env({"ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": "k"})
    request = {"model": SONNET, "max_tokens": 2000, "messages": [{"role": "user", "content": "x"}]}
    with ModelProxy.from_settings(settings) as proxy, httpx.Client(timeout=10) as client:
        assert client.post(f"{proxy.url}/v1/messages", json=request).status_code == 403
        assert client.post(f"{proxy.url}/r/guess/v1/messages", json=request).status_code == 403
        grant, base = spend_to_the_cap(proxy, client, request)
        assert grant.spent_usd <= 0.1 + 1e-9 and grant.exhausted
        proxy.close(grant)
        assert client.post(f"{base}/v1/messages", json=request).status_code == 403
    # What the upstream was asked to write never exceeded what the cap could still buy.
    assert sum(b["max_tokens"] * 15 / 1e6 for b in seen) <= 0.1 + 1e-9


@pytest.mark.parametrize(
    ("model", "price"),
    [
        ("anthropic.claude-sonnet-5-5", (2.0, 10.0)),  # the default, on the Messages-API path
        ("us.anthropic.claude-sonnet-4-6", (3.0, 15.0)),
        ("claude-opus-5-5", (4.0, 20.0)),
        ("claude-opus-5", (5.0, 25.0)),
        ("claude-fable-5-1", (10.0, 50.0)),
        ("claude-opus-4-8", (15.0, 75.0)),  # not listed: the highest Opus price, stopping early
    ],
)
def test_each_model_is_charged_its_list_price(model, price):
    assert prices_for(model) == price
