"""The durable lifecycle in the template: durable config, alias, least privilege, logs."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from infra.lifecycle import EXECUTION_TIMEOUT, EXPIRE_AFTER_S
from tests.infra.template_helpers import actions, granting, logical_id, statements


def _function(synth, handler: str) -> tuple[str, dict]:
    return next(
        (k, v)
        for k, v in synth.resources("AWS::Lambda::Function").items()
        if v["Properties"].get("Handler") == handler
    )


def _role_id(fn: dict) -> str:
    return fn["Properties"]["Role"]["Fn::GetAtt"][0]


def test_lifecycle_is_a_durable_python_313_function(synth) -> None:
    _, fn = _function(synth, "relay.lifecycle.handler")
    props = fn["Properties"]
    assert (props["Runtime"], props["Architectures"]) == ("python3.13", ["arm64"])
    durable = props["DurableConfig"]
    assert durable["ExecutionTimeout"] == EXECUTION_TIMEOUT.to_seconds()
    assert durable["ExecutionTimeout"] > EXPIRE_AFTER_S  # a preview can expire before the end
    assert durable["RetentionPeriodInDays"] == 14
    env = props["Environment"]["Variables"]
    assert env["SHIPIT_REMIND_AFTER_S"] == "86400" and env["SHIPIT_EXPIRE_AFTER_S"] == "604800"
    assert "Fn::GetAtt" in json.dumps(env["SHIPIT_AGENT_RUNTIME_ARN"])
    assert "secret:shipit/telegram-bot-token" in json.dumps(env["SHIPIT_BOT_TOKEN_SECRET_ARN"])


def test_lifecycle_has_a_published_version_and_a_live_alias(synth) -> None:
    fn_id, _ = _function(synth, "relay.lifecycle.handler")
    version_id = next(
        k
        for k, v in synth.resources("AWS::Lambda::Version").items()
        if v["Properties"]["FunctionName"] == {"Ref": fn_id}
    )
    synth.assertions.has_resource_properties(
        "AWS::Lambda::Alias",
        {
            "Name": "live",
            "FunctionName": {"Ref": fn_id},
            "FunctionVersion": {"Fn::GetAtt": [version_id, "Version"]},
        },
    )


def test_relay_may_start_executions_of_the_alias_only(synth) -> None:
    relay_id, relay = _function(synth, "relay.handler.handler")
    alias_id = logical_id(synth, "AWS::Lambda::Alias")
    granted = statements(synth, _role_id(relay))
    [invoke] = granting(granted, "lambda:InvokeFunction")
    assert (
        actions(invoke) == ["lambda:InvokeFunction"] or invoke["Action"] == "lambda:InvokeFunction"
    )
    assert invoke["Resource"] == {"Ref": alias_id}  # the alias ARN: no version, no wildcard
    env = relay["Properties"]["Environment"]["Variables"]
    assert env["SHIPIT_LIFECYCLE_FUNCTION_ARN"] == {"Ref": alias_id}
    assert "SHIPIT_AGENT_RUNTIME_ARN" not in env  # the relay no longer calls AgentCore
    assert not granting(granted, "bedrock-agentcore:InvokeAgentRuntime")


def test_lifecycle_role_is_least_privilege(synth) -> None:
    _, fn = _function(synth, "relay.lifecycle.handler")
    role_id = _role_id(fn)
    role = synth.template["Resources"][role_id]["Properties"]
    assert "AWSLambdaBasicDurableExecutionRolePolicy" in json.dumps(role["ManagedPolicyArns"])
    granted = statements(synth, role_id)
    assert sorted(a for s in granted for a in actions(s)) == [
        "bedrock-agentcore:InvokeAgentRuntime",
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
    ]
    runtime_id = logical_id(synth, "AWS::BedrockAgentCore::Runtime")
    for resource in granting(granted, "bedrock-agentcore:InvokeAgentRuntime")[0]["Resource"]:
        assert runtime_id in json.dumps(resource)
    secret = granting(granted, "secretsmanager:GetSecretValue")[0]
    assert "secret:shipit/telegram-bot-token" in json.dumps(secret["Resource"])


def test_lifecycle_logs_are_kept_a_month(synth) -> None:
    _, fn = _function(synth, "relay.lifecycle.handler")
    log_group = fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    synth.assertions.has_resource(
        "AWS::Logs::LogGroup",
        Match.object_like({"Properties": {"RetentionInDays": 30}, "DeletionPolicy": "Delete"}),
    )
    assert synth.template["Resources"][log_group]["Properties"]["RetentionInDays"] == 30


def test_both_functions_share_one_asset_with_the_templates(synth) -> None:
    _, relay = _function(synth, "relay.handler.handler")
    _, lifecycle = _function(synth, "relay.lifecycle.handler")
    assert relay["Properties"]["Code"] == lifecycle["Properties"]["Code"]
    assets = json.loads((synth.outdir / "Shipit.assets.json").read_text())
    folders = [synth.outdir / a["source"]["path"] for a in assets["files"].values()]
    asset = next(f for f in folders if (f / "relay" / "lifecycle.py").is_file())
    assert (asset / "prompts" / "messages.toml").is_file()
    assert (asset / "aws_durable_execution_sdk_python" / "execution.py").is_file()


def _inbox_id(synth) -> str:
    return next(
        k
        for k, v in synth.resources("AWS::S3::Bucket").items()
        if v["Properties"].get("LoggingConfiguration", {}).get("LogFilePrefix") == "inbox-bucket/"
    )


def _on_inbox(statement: dict, inbox_id: str) -> bool:
    return f'"{inbox_id}"' in json.dumps(statement["Resource"])


def test_the_inbox_keeps_entries_a_day_and_the_relay_may_only_write_to_it(synth) -> None:
    inbox_id = _inbox_id(synth)
    bucket = synth.resources("AWS::S3::Bucket")[inbox_id]["Properties"]
    [rule] = bucket["LifecycleConfiguration"]["Rules"]
    assert (rule["ExpirationInDays"], rule["Status"]) == (1, "Enabled")
    assert bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True

    _, relay = _function(synth, "relay.handler.handler")
    env = relay["Properties"]["Environment"]["Variables"]
    assert env["SHIPIT_INBOX_BUCKET"] == {"Ref": inbox_id}
    on_inbox = [s for s in statements(synth, _role_id(relay)) if _on_inbox(s, inbox_id)]
    granted = {a for s in on_inbox for a in actions(s)}
    assert granted == {"s3:PutObject"}


def test_the_agent_may_read_and_delete_inbox_entries(synth) -> None:
    from tests.infra.template_helpers import runtime, runtime_role_id

    inbox_id = _inbox_id(synth)
    on_inbox = [s for s in statements(synth, runtime_role_id(synth)) if _on_inbox(s, inbox_id)]
    granted = {a for s in on_inbox for a in actions(s)}
    assert granted == {"s3:GetObject", "s3:ListBucket", "s3:DeleteObject"}
    env = runtime(synth)["Properties"]["EnvironmentVariables"]
    assert env["SHIPIT_INBOX_BUCKET"] == {"Ref": inbox_id}
