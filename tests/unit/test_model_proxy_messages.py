"""Bedrock's Messages-API endpoint through the model proxy: the real CLI, SigV4 for bedrock-mantle,
the budget cap and the self-check's model probe, against a loopback stand-in of that endpoint."""

from __future__ import annotations

import json

import httpx
import pytest
from botocore.credentials import ReadOnlyCredentials
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from agent import selfcheck_probes as probes
from agent.guard.budget import Usage, prices_for
from agent.model_proxy import MODEL_ENV_NAMES, ModelProxy, cli_model_env
from agent.model_routes import MESSAGES_API
from agent.selfcheck_probes import Status
from agent.settings import Settings
from local.scripted_claude import ScriptedClaude, _block_json, _sse
from tests.unit.test_budget import spend_to_the_cap, sse
from tests.unit.test_model_proxy import (  # noqa: F401 - fixtures are used by name
    AUTH,
    ENV_SCRIPT,
    SECRET,
    Recorder,
    clean_env,
    cli_test_env,
    run_cli,
    serve,
    signature_valid,
)

MODEL = "anthropic.claude-sonnet-5-5"
SETTINGS_ENV = {"CLAUDE_CODE_USE_BEDROCK": "1", "AWS_REGION": "us-east-1", "ANTHROPIC_MODEL": MODEL}


def credentials():
    # The agent process's credentials, kept out of os.environ, which the SDK would hand the CLI.
    return ReadOnlyCredentials("AKIDEXAMPLE", SECRET, "tok")


@pytest.fixture
def endpoint(serve, clean_env):  # noqa: F811 - the imported fixtures
    """A stand-in for `bedrock-mantle.<region>.api.aws/anthropic`, found by its standard variable."""
    replies: dict = {"reply": None}

    async def reply(request: Request) -> Response:
        if request.url.path != "/anthropic/v1/messages":
            return JSONResponse({"message": "not found"}, status_code=404)
        return await replies["reply"](request)

    recorder = Recorder(reply)
    url = serve(recorder.app())
    clean_env.setenv("ANTHROPIC_BEDROCK_MANTLE_BASE_URL", f"{url}/anthropic")
    # A stray InvokeModel override must not pull Messages-API calls elsewhere.
    clean_env.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:9")
    return recorder, url, replies


def test_cli_env_for_a_messages_api_model():
    settings = Settings.from_env({**SETTINGS_ENV, "ANTHROPIC_MODEL": "us.anthropic.claude-opus-5"})
    env = cli_model_env(settings, "http://127.0.0.1:9/r/t", source={})
    assert env == {
        "CLAUDE_CODE_USE_MANTLE": "1",
        "ANTHROPIC_BEDROCK_MANTLE_BASE_URL": "http://127.0.0.1:9/r/t",
        "CLAUDE_CODE_SKIP_MANTLE_AUTH": "1",
        "AWS_REGION": "us-east-1",
        "ANTHROPIC_MODEL": "anthropic.claude-opus-5",
    }
    assert set(env) <= set(MODEL_ENV_NAMES)


async def test_real_cli_through_proxy_signed_for_bedrock_mantle(tmp_path, endpoint):
    recorder, url, replies = endpoint
    scripted = ScriptedClaude.from_turns(ENV_SCRIPT)

    async def answer(request: Request) -> Response:
        body = json.loads(await request.body())
        turn, n = scripted._next(body)
        content = [_block_json(b) for b in turn.blocks]
        usage = {"input_tokens": 1000, "output_tokens": 100}
        events = _sse(f"msg_{n}", body["model"], content, turn.stop_reason, usage)
        return Response(events, media_type="text/event-stream")

    replies["reply"] = answer
    settings = Settings.from_env(SETTINGS_ENV)
    with ModelProxy.from_settings(settings, aws_credentials=credentials) as proxy:
        assert proxy.route == MESSAGES_API
        grant = proxy.open(5.0)
        assert await run_cli(tmp_path, settings, proxy.grant_url(grant)) == "done"

    assert len(recorder.seen) >= 2
    for seen in recorder.seen:
        assert seen["raw_path"] == "/anthropic/v1/messages"
        assert json.loads(seen["body"])["model"] == MODEL
        match = AUTH.fullmatch(seen["headers"]["authorization"])
        assert (match["service"], match["region"], match["key"]) == (
            "bedrock-mantle",
            "us-east-1",
            "AKIDEXAMPLE",
        )
        assert seen["headers"]["x-amz-security-token"] == "tok"
        assert signature_valid(seen, url, SECRET, "tok")
    # The proxy metered the SSE usage of every turn: 1000 in, 100 out, at Sonnet's prices.
    per_turn = Usage(input=1000, output=100).cost(MODEL)
    assert grant.calls == len(recorder.seen)
    assert grant.spent_usd == pytest.approx(per_turn * len(recorder.seen))
    [bash] = scripted.tool_results()
    assert "CLAUDE_CODE_USE_MANTLE=1" in bash["text"]
    assert "CLAUDE_CODE_SKIP_MANTLE_AUTH=1" in bash["text"]
    assert "AKIDEXAMPLE" not in bash["text"] and SECRET not in bash["text"]


def test_budget_cap_holds_on_the_messages_api(endpoint):
    recorder, _url, replies = endpoint

    async def writes_all_it_may(request: Request) -> Response:
        raw = await request.body()
        # Like the real API: every input token is in the body, and it writes max_tokens.
        return Response(
            sse(len(raw) // 4, json.loads(raw)["max_tokens"]), media_type="text/event-stream"
        )

    replies["reply"] = writes_all_it_may
    request = {"model": MODEL, "max_tokens": 2000, "messages": [{"role": "user", "content": "x"}]}
    settings = Settings.from_env(SETTINGS_ENV)
    proxy = ModelProxy.from_settings(settings, aws_credentials=credentials)
    with proxy, httpx.Client(timeout=10) as client:
        grant, _base = spend_to_the_cap(proxy, client, request)
    assert 0 < grant.spent_usd <= 0.1 + 1e-9 and grant.exhausted
    asked = [json.loads(s["body"])["max_tokens"] for s in recorder.seen]
    output_price = prices_for(MODEL)[1]  # USD per million output tokens
    assert asked[0] == 2000 and sum(asked) * output_price / 1e6 <= 0.1 + 1e-9


def test_selfcheck_model_probe_on_the_messages_api(endpoint):
    recorder, url, replies = endpoint

    async def ok(_request: Request) -> Response:
        return JSONResponse({"type": "message", "content": [{"type": "text", "text": "OK"}]})

    replies["reply"] = ok
    settings = Settings.from_env(SETTINGS_ENV)
    with ModelProxy.from_settings(settings, aws_credentials=credentials) as proxy:
        finding = probes.model(proxy, MODEL)
    assert finding.status is Status.OK, finding
    [seen] = recorder.seen
    assert json.loads(seen["body"])["model"] == MODEL
    assert AUTH.fullmatch(seen["headers"]["authorization"])["service"] == "bedrock-mantle"
    assert signature_valid(seen, url, SECRET, "tok")


def test_selfcheck_reports_a_refused_messages_api_model(endpoint):
    _recorder, _url, replies = endpoint

    async def denied(_request: Request) -> Response:
        return JSONResponse({"message": "not authorized to perform CreateInference"}, 403)

    replies["reply"] = denied
    settings = Settings.from_env(SETTINGS_ENV)
    with ModelProxy.from_settings(settings, aws_credentials=credentials) as proxy:
        finding = probes.model(proxy, MODEL)
    assert finding.status is Status.FAIL and "HTTP 403" in finding.detail


async def test_real_cli_is_stopped_at_the_cap_before_anything_reaches_bedrock(tmp_path, endpoint):
    from claude_agent_sdk import ClaudeAgentOptions, ResultError, ResultMessage, query

    recorder, _url, replies = endpoint
    replies["reply"] = None  # never called: the proxy refuses first
    settings = Settings.from_env(SETTINGS_ENV)
    with ModelProxy.from_settings(settings, aws_credentials=credentials) as proxy:
        grant = proxy.open(0.001)  # less than the CLI's first request body costs as input
        env = cli_test_env(tmp_path, settings, proxy.grant_url(grant))
        options = ClaudeAgentOptions(cwd=str(tmp_path), env=env, setting_sources=[], max_turns=2)
        results = []
        try:
            async for message in query(prompt="hello", options=options):
                results.append(message)
        except ResultError:  # the SDK raises after yielding the error result
            pass
    final = [m for m in results if isinstance(m, ResultMessage)]
    assert final and final[-1].is_error
    assert "budget" in (final[-1].result or "")
    assert grant.exhausted and grant.spent_usd == 0.0
    assert recorder.seen == []
