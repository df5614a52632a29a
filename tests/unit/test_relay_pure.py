"""The relay's pure functions and settings, tested without network I/O."""

from __future__ import annotations

import base64
import datetime
import json
import re
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from local.servers import serve_in_thread
from relay import handler as relay
from relay import settings as relay_settings
from relay.aws_call import AwsCallError, Credentials, endpoint, sign
from relay.handler import (
    MalformedUpdate,
    chat_id,
    parse_update,
    sender_id,
    session_id_for_chat,
    verify_secret,
)
from relay.settings import WEBHOOK_SECRET, SettingsError, parse_allowlist
from tests.aws_standins import botocore_signature, secrets_manager

SECRET = "s3cr3t-Token_abc"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:shipit-lifecycle:live"
USER = {"id": 4242, "is_bot": False, "first_name": "Ada"}
CHAT = {"id": 4242, "type": "private"}
MESSAGE = {"update_id": 1, "message": {"message_id": 5, "date": 1, "chat": CHAT, "from": USER}}
CALLBACK = {
    "update_id": 2,
    "callback_query": {
        "id": "cb",
        "from": USER,
        "chat_instance": "ci",
        "data": "ship",
        "message": {"message_id": 9, "date": 1, "chat": CHAT},
    },
}


@pytest.fixture
def aws_env(aws_env):
    """The shared dummy AWS settings, and the relay's cached settings and client forgotten."""
    relay._reset_for_tests()
    yield
    relay._reset_for_tests()


# ---------------------------------------------------------------- verify_secret


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        ({"x-telegram-bot-api-secret-token": SECRET}, True),
        ({"X-Telegram-Bot-Api-Secret-Token": SECRET}, True),
        ({"x-telegram-bot-api-secret-token": SECRET + "x"}, False),
        ({"x-telegram-bot-api-secret-token": SECRET[:-1]}, False),
        ({"x-telegram-bot-api-secret-token": ""}, False),
        ({"x-telegram-bot-api-secret-token": "sécret"}, False),  # non-ASCII: False, no crash
        ({"content-type": "application/json"}, False),
        ({}, False),
        (None, False),
    ],
)
def test_verify_secret(headers, ok):
    assert verify_secret(headers, SECRET) is ok


def test_verify_secret_refuses_an_empty_expected_secret():
    assert not verify_secret({"x-telegram-bot-api-secret-token": ""}, "")


# ---------------------------------------------------------------- sender_id / chat_id


@pytest.mark.parametrize(
    ("update", "sender", "chat"),
    [
        (MESSAGE, 4242, 4242),
        ({"update_id": 3, "edited_message": MESSAGE["message"]}, 4242, 4242),
        (CALLBACK, 4242, 4242),
        ({"update_id": 4, "message_reaction": {"chat": CHAT, "user": USER}}, 4242, 4242),
        ({"update_id": 5, "poll_answer": {"poll_id": "p", "user": USER}}, 4242, None),
        ({"update_id": 6, "inline_query": {"id": "q", "from": USER, "query": ""}}, 4242, None),
        (
            {"update_id": 7, "my_chat_member": {"chat": {"id": -100123}, "from": USER}},
            4242,
            -100123,
        ),
        ({"update_id": 8, "channel_post": {"chat": {"id": -100999}}}, None, -100999),
        ({"update_id": 9, "unknown_kind": {"from": USER, "chat": CHAT}}, None, None),
        ({"update_id": 10, "message": {"from": {"id": "4242"}, "chat": {"id": "1"}}}, None, None),
        ({"update_id": 11, "message": {"from": {"id": True}, "chat": {"id": True}}}, None, None),
        ({"update_id": 12, "message": "not an object"}, None, None),
        ({"update_id": 13, "callback_query": {"id": "c", "from": USER}}, 4242, None),
    ],
)
def test_sender_and_chat(update, sender, chat):
    assert sender_id(update) == sender
    assert chat_id(update) == chat


# ---------------------------------------------------------------- session_id_for_chat


@pytest.mark.parametrize("chat", [1, 4242, -1001234567890, 2**62])
def test_session_id_is_deterministic_and_fits_agentcore(chat):
    sid = session_id_for_chat(chat)
    assert sid == session_id_for_chat(chat)
    assert 33 <= len(sid) <= 256
    assert re.fullmatch(r"shipit-chat-[0-9a-f]{64}", sid)


def test_session_ids_differ_per_chat():
    assert len({session_id_for_chat(c) for c in (1, -1, 2, 4242, -4242)}) == 5


@pytest.mark.parametrize("bad", ["4242", True, 4.0, None])
def test_session_id_wants_an_int(bad):
    with pytest.raises(TypeError):
        session_id_for_chat(bad)


# ---------------------------------------------------------------- parse_allowlist


@pytest.mark.parametrize(
    ("raw", "ids"),
    [
        ("1,2, 3", {1, 2, 3}),
        (" 4242 ", {4242}),
        ("", set()),
        (" , ,", set()),
        ("7,7", {7}),
    ],
)
def test_parse_allowlist(raw, ids):
    assert parse_allowlist(raw) == frozenset(ids)
    assert relay.parse_allowlist is parse_allowlist


@pytest.mark.parametrize("raw", ["12x", "1;2", "1 2", "@ada", "1.5"])
def test_parse_allowlist_rejects_garbage_loudly(raw):
    with pytest.raises(SettingsError, match="SHIPIT_ALLOWED_USER_IDS"):
        parse_allowlist(raw)


# ---------------------------------------------------------------- parse_update


def _event(body, b64=False):
    return {"body": body, "isBase64Encoded": b64}


def test_parse_update_plain_and_base64():
    text = json.dumps(MESSAGE)
    assert parse_update(_event(text)) == MESSAGE
    assert parse_update(_event(base64.b64encode(text.encode()).decode(), True)) == MESSAGE


@pytest.mark.parametrize(
    "event",
    [
        {},
        _event(""),
        _event(None),
        _event("{not json"),
        _event("[1, 2]"),
        _event('"a string"'),
        _event("{}"),
        _event('{"update_id": "1"}'),
        _event('{"update_id": true}'),
        _event("!!not base64!!", True),
        _event(base64.b64encode(b"\xff\xfe{").decode(), True),
    ],
)
def test_parse_update_rejects_garbage(event):
    with pytest.raises(MalformedUpdate):
        parse_update(event)


# ---------------------------------------------------------------- settings


def _env(**extra):
    return {"SHIPIT_ALLOWED_USER_IDS": "4242", "SHIPIT_LIFECYCLE_FUNCTION_ARN": ARN, **extra}


def test_settings_from_plain_env():
    s = relay_settings.from_env(_env(SHIPIT_WEBHOOK_SECRET=SECRET))
    assert (s.webhook_secret, s.allowed_user_ids, s.lifecycle_function_arn) == (
        SECRET,
        frozenset({4242}),
        ARN,
    )
    assert SECRET not in repr(s)


def test_settings_fetch_secret_by_arn_and_strip_it():
    calls = []

    def fetch(arn):
        calls.append(arn)
        return SECRET + "\n"

    s = relay_settings.from_env(_env(SHIPIT_WEBHOOK_SECRET_ARN="arn:secret"), fetch_secret=fetch)
    assert s.webhook_secret == SECRET
    assert calls == ["arn:secret"]


@pytest.mark.parametrize(
    ("env", "name"),
    [
        (_env(), "SHIPIT_WEBHOOK_SECRET"),
        (_env(SHIPIT_WEBHOOK_SECRET="  "), "SHIPIT_WEBHOOK_SECRET"),
        (_env(SHIPIT_WEBHOOK_SECRET=SECRET, SHIPIT_WEBHOOK_SECRET_ARN="a"), WEBHOOK_SECRET),
        ({"SHIPIT_WEBHOOK_SECRET": SECRET}, "SHIPIT_LIFECYCLE_FUNCTION_ARN"),
        (_env(SHIPIT_WEBHOOK_SECRET_ARN="arn:secret"), "SHIPIT_WEBHOOK_SECRET_ARN"),
    ],
)
def test_settings_errors(env, name):
    with pytest.raises(SettingsError) as err:
        relay_settings.from_env(env, fetch_secret=lambda arn: "")
    assert err.value.name == name


def test_empty_allowlist_means_nobody():
    env = {**_env(SHIPIT_WEBHOOK_SECRET=SECRET), "SHIPIT_ALLOWED_USER_IDS": ""}
    s = relay_settings.from_env(env)
    assert s.allowed_user_ids == frozenset()


def test_secret_from_secrets_manager_is_fetched_once_per_container(aws_env, monkeypatch):
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shipit/webhook-AbCdEf"
    secrets = {arn: SECRET}
    app = secrets_manager(secrets)
    server = serve_in_thread(app, name="secrets-manager")
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", server.url)
        for name, value in _env(SHIPIT_WEBHOOK_SECRET_ARN=arn).items():
            monkeypatch.setenv(name, value)
        assert relay_settings.get_settings().webhook_secret == SECRET
        # Gone from Secrets Manager, still known: the second call did not go back to AWS.
        secrets.clear()
        assert relay_settings.get_settings().webhook_secret == SECRET
        assert app.state.calls == 1
        relay._reset_for_tests()
        with pytest.raises(AwsCallError) as err:  # a reset container does go back
            relay_settings.get_settings()
        assert (err.value.code, err.value.status) == ("ResourceNotFoundException", 400)
    finally:
        server.stop()


def test_signatures_match_botocore():
    # The relay signs its two calls itself (cold start); botocore is the reference.
    now = datetime.datetime(2026, 12, 1, 20, 0, 0, tzinfo=datetime.UTC)
    url = f"https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/{quote(ARN, safe='')}/invocations"
    for token in (None, "session-token"):
        creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", token)
        headers = {"Content-Type": "application/json", "X-Amz-Durable-Execution-Name": "u1-ab"}
        signed = sign("POST", url, headers, b'{"a": 1}', service="lambda",
                      region_name="eu-west-1", credentials=creds, now=now)  # fmt: skip
        signed["Host"] = "lambda.eu-west-1.amazonaws.com"
        ours = signed["Authorization"].rsplit("Signature=", 1)[1]
        theirs = botocore_signature("POST", url, signed, b'{"a": 1}', "lambda", "eu-west-1",
                                    creds.access_key, creds.secret_key, token)  # fmt: skip
        assert ours == theirs
        assert ("X-Amz-Security-Token" in signed) is (token is not None)


def test_aws_endpoints_follow_the_standard_variables():
    assert (
        endpoint("lambda", {"AWS_REGION": "eu-west-1"}) == "https://lambda.eu-west-1.amazonaws.com"
    )
    env = {"AWS_ENDPOINT_URL_LAMBDA": "http://127.0.0.1:9/", "AWS_ENDPOINT_URL": "http://x"}
    assert endpoint("lambda", env) == "http://127.0.0.1:9"
    assert endpoint("secretsmanager", env) == "http://x"


# ---------------------------------------------------------------- handler decisions (no I/O)


@pytest.fixture
def forwarded(aws_env, monkeypatch):
    """Plain-env settings; _start_lifecycle replaced by a recorder so nothing is called."""
    for name, value in _env(SHIPIT_WEBHOOK_SECRET=SECRET).items():
        monkeypatch.setenv(name, value)
    calls = []
    monkeypatch.setattr(relay, "_start_lifecycle", lambda *args: calls.append(args))
    return calls


def _call(update, secret=SECRET):
    headers = {"x-telegram-bot-api-secret-token": secret} if secret else {}
    body = update if isinstance(update, str) else json.dumps(update)
    return relay.handler({"headers": headers, "body": body, "isBase64Encoded": False}, None)


def test_handler_forwards_an_allowed_update(forwarded):
    result = _call(MESSAGE)
    typing = {"method": "sendChatAction", "chat_id": 4242, "action": "typing"}
    assert (result["statusCode"], json.loads(result["body"])) == (200, typing)
    name = relay.execution_name(MESSAGE)
    assert forwarded == [(ARN, name, {**relay.lifecycle_input(MESSAGE, 4242)})]
    assert forwarded[0][2]["session_id"] == session_id_for_chat(4242)
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", name)  # Lambda's DurableExecutionName rule


def test_strangers_are_answered_at_most_once_a_day():
    replies = relay.StrangerReplies(every_s=100, kept=2)
    assert replies.due(1, now=0) and not replies.due(1, now=99) and replies.due(1, now=100)
    assert replies.due(2, now=100) and replies.due(3, now=100)
    assert replies.due(1, now=150)  # forgotten: only the newest `kept` are remembered


@pytest.mark.parametrize(
    ("update", "secret", "status"),
    [
        ("{garbage", None, 403),  # the secret is checked before the body is looked at
        (MESSAGE, "wrong", 403),
        ("{garbage", SECRET, 200),
        ({**MESSAGE, "message": {**MESSAGE["message"], "from": {"id": 1}}}, SECRET, 200),
        ({"update_id": 5, "poll_answer": {"poll_id": "p", "user": USER}}, SECRET, 200),
    ],
)
def test_handler_drops_without_forwarding(forwarded, update, secret, status):
    assert _call(update, secret)["statusCode"] == status
    assert forwarded == []


def test_relay_imports_only_the_standard_library():
    # Cold-start cost: no Telegram library, no web framework, and not even boto3.
    import subprocess

    probe = (
        "import sys, relay.handler; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'telegram', 'httpx', 'starlette', 'uvicorn', 'requests', 'aiohttp', 'boto3', "
        "'botocore', 'aws_durable_execution_sdk_python'}))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True)
    assert (out.returncode, out.stdout.strip()) == (0, "[]"), out.stderr
