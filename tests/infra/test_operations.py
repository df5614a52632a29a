"""Running it for real: alarms, budget, log retention, access-log fields, teardown, settings."""

from __future__ import annotations

import json

from infra.config import CONTAINER_CACHE_DIR, WORKSPACE_MOUNT_PATH
from tests.infra.template_helpers import logical_id, runtime


def _stage(synth) -> dict:
    return synth.one("AWS::ApiGatewayV2::Stage")[1]


def test_access_log_uses_fields_http_apis_fill(synth) -> None:
    fmt = json.loads(_stage(synth)["Properties"]["AccessLogSettings"]["Format"])
    values = set(fmt.values())
    # $context.resourcePath is REST-only: an HTTP API logs it as "-", so it must not be used.
    assert not any("resourcePath" in v for v in values)
    for field in (
        "$context.requestId",
        "$context.routeKey",
        "$context.path",
        "$context.status",
        "$context.integrationErrorMessage",
    ):
        assert field in values, field
    assert not any("body" in v.lower() for v in values)


def test_alarms_reach_the_optional_email(synth) -> None:
    alarms = synth.resources("AWS::CloudWatch::Alarm")
    topic_id = logical_id(synth, "AWS::SNS::Topic")
    metrics = {
        (a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms.values()
    }
    assert metrics == {
        ("AWS/Lambda", "Errors"),
        ("AWS/ApiGateway", "5xx"),
        ("AWS/Bedrock-AgentCore", "SystemErrors"),
        ("Shipit", "AgentErrors"),
    }
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching"
    relay = next(a for a in alarms.values() if a["Properties"]["MetricName"] == "Errors")
    (dimension,) = relay["Properties"]["Dimensions"]
    relay_fn = next(
        k
        for k, v in synth.resources("AWS::Lambda::Function").items()
        if v["Properties"].get("Handler") == "relay.handler.handler"
    )
    assert dimension["Value"] == {"Ref": relay_fn}

    (subscription,) = synth.resources("AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    condition = synth.template["Conditions"][subscription["Condition"]]
    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    assert synth.template["Parameters"]["AlarmEmail"]["Default"] == ""


def test_agent_error_lines_become_the_metric(synth) -> None:
    (metric_filter,) = synth.resources("AWS::Logs::MetricFilter").values()
    assert metric_filter["Properties"]["FilterPattern"] == '{ $.level = "ERROR" }'
    assert "-DEFAULT" in json.dumps(metric_filter["Properties"]["LogGroupName"])


def test_monthly_budget_with_optional_email(synth) -> None:
    (budget,) = synth.resources("AWS::Budgets::Budget").values()
    data = budget["Properties"]["Budget"]
    assert data["BudgetType"] == "COST" and data["TimeUnit"] == "MONTHLY"
    assert data["BudgetLimit"] == {"Amount": {"Ref": "MonthlyBudgetUsd"}, "Unit": "USD"}
    condition, notifications, absent = budget["Properties"]["NotificationsWithSubscribers"][
        "Fn::If"
    ]
    assert absent == {"Ref": "AWS::NoValue"}
    assert synth.template["Conditions"][condition]["Fn::Not"]
    kinds = {n["Notification"]["NotificationType"] for n in notifications}
    assert kinds == {"ACTUAL", "FORECASTED"}
    for n in notifications:
        assert n["Subscribers"] == [{"Address": {"Ref": "AlarmEmail"}, "SubscriptionType": "EMAIL"}]
    assert synth.template["Parameters"]["MonthlyBudgetUsd"]["Type"] == "Number"


def test_every_log_group_expires(synth) -> None:
    for name, group in synth.resources("AWS::Logs::LogGroup").items():
        assert group["Properties"].get("RetentionInDays") == 30, name


def test_the_runtimes_own_log_group_gets_retention(synth) -> None:
    calls = [json.dumps(r["Properties"]) for r in synth.resources("Custom::AWS").values()]
    runtime_id = logical_id(synth, "AWS::BedrockAgentCore::Runtime")
    create = next(c for c in calls if "createLogGroup" in c)
    retention = next(c for c in calls if "putRetentionPolicy" in c)
    for call in (create, retention):
        assert "/aws/bedrock-agentcore/runtimes/" in call and runtime_id in call
        assert "-DEFAULT" in call
    # Adopted when AgentCore made it first; removed with the stack.
    assert "ResourceAlreadyExistsException" in create and "deleteLogGroup" in create
    assert '\\"retentionInDays\\":30' in retention or 'retentionInDays\\":30' in retention


def test_teardown_keeps_what_agentcore_enis_hold(synth) -> None:
    retained = {
        k for k, v in synth.template["Resources"].items() if v.get("DeletionPolicy") == "Retain"
    }
    vpc = logical_id(synth, "AWS::EC2::VPC")
    private = {k for k, v in synth.resources("AWS::EC2::Subnet").items() if "private" in k.lower()}
    runtime_sg = next(
        k for k in synth.resources("AWS::EC2::SecurityGroup") if "RuntimeSecurityGroup" in k
    )
    assert len(private) == 2
    assert {vpc, runtime_sg, *private} <= retained
    # Everything that costs money while idle still goes away.
    for cfn_type in ("AWS::EC2::NatGateway", "AWS::EC2::EIP", "AWS::BedrockAgentCore::Runtime"):
        for name, resource in synth.resources(cfn_type).items():
            assert resource.get("DeletionPolicy") != "Retain", name


def test_runtime_settings_for_self_check_and_caches(synth) -> None:
    env = runtime(synth)["Properties"]["EnvironmentVariables"]
    assert env["SHIPIT_OWNER_CHAT_ID"] == {"Ref": "OwnerChatId"}
    assert synth.template["Parameters"]["OwnerChatId"]["Default"] == ""
    # The webhook URL the self-check expects is the one the stack registers with Telegram.
    (webhook,) = synth.resources("Custom::TelegramWebhook").values()
    assert env["SHIPIT_WEBHOOK_URL"] == webhook["Properties"]["WebhookUrl"]
    # The deployed version is the image's content hash (one self-check per new image).
    assets = json.loads((synth.outdir / "Shipit.assets.json").read_text())
    # The agent's image (the screenshot Lambda has an image of its own: infra/screenshot.py).
    (image_hash,) = [
        h
        for h, i in assets["dockerImages"].items()
        if (synth.outdir / i["source"]["directory"] / "agent").is_dir()
    ]
    assert env["SHIPIT_DEPLOYED_VERSION"] == image_hash
    assert env["SHIPIT_CACHE_DIR"] == CONTAINER_CACHE_DIR
    assert not CONTAINER_CACHE_DIR.startswith(WORKSPACE_MOUNT_PATH)
