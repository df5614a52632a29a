"""The edges of the stack: relay and API, IAM scopes, hosting, secrets, webhook, parameters."""

from __future__ import annotations

import json
import re

from aws_cdk.assertions import Match

from tests.infra.template_helpers import (
    actions,
    granting,
    logical_id,
    runtime_role_id,
    statements,
)


def test_relay_lambda(synth) -> None:
    synth.assertions.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.13",
            "Architectures": ["arm64"],
            "Handler": "relay.handler.handler",
            "Environment": {
                "Variables": {
                    "SHIPIT_WEBHOOK_SECRET_ARN": {"Ref": Match.string_like_regexp("WebhookSecret")},
                    "SHIPIT_ALLOWED_USER_IDS": {"Ref": "AllowedUserIds"},
                    "SHIPIT_LIFECYCLE_FUNCTION_ARN": {"Ref": Match.string_like_regexp("Live")},
                }
            },
        },
    )


def test_api_route_and_throttling(synth) -> None:
    synth.assertions.has_resource_properties(
        "AWS::ApiGatewayV2::Route", {"RouteKey": "POST /telegram"}
    )
    synth.assertions.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": "$default",
            "DefaultRouteSettings": {"ThrottlingBurstLimit": 40, "ThrottlingRateLimit": 20},
            "AccessLogSettings": Match.object_like({"DestinationArn": Match.any_value()}),
        },
    )
    synth.assertions.has_resource_properties("AWS::ApiGatewayV2::Api", {"ProtocolType": "HTTP"})


def test_relay_may_only_start_the_lifecycle_record_in_the_inbox_and_read_its_secret(synth) -> None:
    relay_id = next(
        k
        for k, v in synth.resources("AWS::Lambda::Function").items()
        if v["Properties"].get("Handler") == "relay.handler.handler"
    )
    role_id = synth.template["Resources"][relay_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    relay = statements(synth, role_id)
    assert sorted(a for s in relay for a in actions(s)) == [
        "lambda:InvokeFunction",
        "s3:PutObject",  # the chats' inbox only (tests/infra/test_lifecycle_stack.py)
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
    ]
    invoke = granting(relay, "lambda:InvokeFunction")[0]
    assert invoke["Resource"] == {"Ref": logical_id(synth, "AWS::Lambda::Alias")}
    secret = granting(relay, "secretsmanager:GetSecretValue")[0]
    assert secret["Resource"] == {"Ref": logical_id(synth, "AWS::SecretsManager::Secret")}


def test_runtime_role_scopes(synth) -> None:
    granted = statements(synth, runtime_role_id(synth))
    fs_id = logical_id(synth, "AWS::S3Files::FileSystem")
    ap_id = logical_id(synth, "AWS::S3Files::AccessPoint")
    mount = granting(granted, "s3files:ClientMount")[0]
    assert set(actions(mount)) == {"s3files:ClientMount", "s3files:ClientWrite"}
    assert mount["Resource"] == {"Fn::GetAtt": [fs_id, "FileSystemArn"]}
    assert mount["Condition"] == {
        "StringEquals": {"s3files:AccessPointArn": {"Fn::GetAtt": [ap_id, "AccessPointArn"]}}
    }

    put = granting(granted, "s3:PutObject")[0]
    assert json.dumps(put["Resource"]).endswith('"/builds/*"]]}')
    listing = granting(granted, "s3:ListBucket")[0]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["builds/*"]}}

    kvs = granting(granted, "cloudfront-keyvaluestore:PutKey")[0]
    assert set(actions(kvs)) == {
        "cloudfront-keyvaluestore:DescribeKeyValueStore",
        "cloudfront-keyvaluestore:GetKey",
        "cloudfront-keyvaluestore:PutKey",
    }
    assert kvs["Resource"] == {
        "Fn::GetAtt": [logical_id(synth, "AWS::CloudFront::KeyValueStore"), "Arn"]
    }

    secrets = json.dumps(granting(granted, "secretsmanager:GetSecretValue"))
    assert "secret:shipit/telegram-bot-token-??????" in secrets
    assert "secret:shipit/github-deploy-key-??????" in secrets
    assert "WebhookSecret" not in secrets  # the agent never needs the webhook secret

    invoke = granting(granted, "bedrock:InvokeModel")[0]
    assert "bedrock:InvokeModelWithResponseStream" in actions(invoke)
    resources = json.dumps(invoke["Resource"])
    assert ":inference-profile/us.anthropic.claude" in resources
    assert ":foundation-model/anthropic.claude" in resources
    assert "foundation-model/*" not in resources


def test_no_wildcard_actions_and_star_resources_only_where_unavoidable(synth) -> None:
    allowed_on_star = {
        # IAM has no resource-level permissions for these (see the comments in infra/).
        "bedrock:ListInferenceProfiles",
        "ecr:GetAuthorizationToken",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
        "cloudwatch:PutMetricData",
    }
    for policy in synth.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            for action in actions(statement):
                assert action != "*" and not action.endswith(":*"), action
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            if "*" in resources:
                assert set(actions(statement)) <= allowed_on_star, statement


def _distributions(synth) -> dict[str, dict]:
    return {
        d["Properties"]["DistributionConfig"]["Comment"]: d["Properties"]["DistributionConfig"]
        for d in synth.resources("AWS::CloudFront::Distribution").values()
    }


def _functions(synth) -> dict[str, tuple[str, dict]]:
    """Router functions by mode ("site" / "previews"), with their logical ids."""
    found = {}
    for name, fn in synth.resources("AWS::CloudFront::Function").items():
        code = json.dumps(fn["Properties"]["FunctionCode"])
        mode = "previews" if "const MODE = 'previews'" in code else "site"
        assert f"const MODE = '{mode}'" in code
        found[mode] = (name, fn["Properties"])
    return found


def test_cloudfront_uses_oac_https_only_and_the_router(synth) -> None:
    oac = logical_id(synth, "AWS::CloudFront::OriginAccessControl")
    functions = _functions(synth)
    dists = _distributions(synth)
    assert set(dists) == {"Shipit production", "Shipit previews"}
    for comment, mode in (("Shipit production", "site"), ("Shipit previews", "previews")):
        dist = dists[comment]
        origin = dist["Origins"][0]
        assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac, "Id"]}
        assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
        default, error_page = dist["DefaultCacheBehavior"], dist["CacheBehaviors"][0]
        assert len(dist["CacheBehaviors"]) == 1
        for behavior in (default, error_page):
            assert behavior["ViewerProtocolPolicy"] == "https-only"
        assert default["FunctionAssociations"] == [
            {
                "EventType": "viewer-request",
                "FunctionARN": {"Fn::GetAtt": [functions[mode][0], "FunctionARN"]},
            }
        ]
        # The friendly 404 page is fetched by its own path, past the router.
        assert error_page["PathPattern"] == "/builds/_shipit-errors/*"
        assert "FunctionAssociations" not in error_page
        assert sorted(dist["CustomErrorResponses"], key=lambda e: e["ErrorCode"]) == [
            {
                "ErrorCode": code,
                "ResponseCode": 404,
                "ResponsePagePath": "/builds/_shipit-errors/404.html",
                "ErrorCachingMinTTL": 10,
            }
            for code in (403, 404)
        ]
    synth.assertions.has_resource_properties(
        "AWS::CloudFront::OriginAccessControl",
        {"OriginAccessControlConfig": Match.object_like({"SigningBehavior": "always"})},
    )
    origin = dists["Shipit production"]["Origins"][0]
    site = synth.template["Resources"][origin["DomainName"]["Fn::GetAtt"][0]]["Properties"]
    assert site["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


def test_router_function_reads_the_production_store(synth) -> None:
    kvs = logical_id(synth, "AWS::CloudFront::KeyValueStore")
    functions = _functions(synth)
    assert set(functions) == {"site", "previews"}
    for _, fn in functions.values():
        assert fn["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
        assert fn["FunctionConfig"]["KeyValueStoreAssociations"] == [
            {"KeyValueStoreARN": {"Fn::GetAtt": [kvs, "Arn"]}}
        ]
        code = fn["FunctionCode"]["Fn::Join"][1]
        assert {"Fn::GetAtt": [kvs, "Id"]} in code
        assert "__KVS_ID__" not in json.dumps(code) and "__MODE__" not in json.dumps(code)


def test_caching_is_long_at_the_edge_and_per_object_in_browsers(synth) -> None:
    # Every rewritten path names an immutable build object: the edge keeps it a year.
    synth.assertions.has_resource_properties(
        "AWS::CloudFront::CachePolicy",
        {
            "CachePolicyConfig": Match.object_like(
                {"DefaultTTL": 31536000, "MaxTTL": 31536000, "MinTTL": 31536000}
            )
        },
    )
    # Browsers get each object's own Cache-Control (immutable only for hashed files): no
    # policy overrides it.
    for policy in synth.resources("AWS::CloudFront::ResponseHeadersPolicy").values():
        assert "CustomHeadersConfig" not in policy["Properties"]["ResponseHeadersPolicyConfig"]


def test_secrets_are_generated_or_referenced_never_written(synth) -> None:
    secret = synth.one("AWS::SecretsManager::Secret")[1]["Properties"]
    assert "SecretString" not in secret
    assert secret["GenerateSecretString"] == {
        "ExcludePunctuation": True,
        "IncludeSpace": False,
        "PasswordLength": 64,
    }
    text = json.dumps(synth.template)
    assert '"SecretString":' not in text  # no secret value written anywhere
    assert "{{resolve:secretsmanager" not in text  # nor resolved into a property at deploy
    # Nothing shaped like a bot token or a private key anywhere in the template.
    assert not re.search(r"\d{6,}:[A-Za-z0-9_-]{30,}", text)
    assert "PRIVATE KEY" not in text
    for fn in synth.resources("AWS::Lambda::Function").values():
        for name in fn["Properties"].get("Environment", {}).get("Variables", {}):
            assert "TOKEN" not in name or name.endswith("_ARN")


def test_webhook_registration_custom_resource(synth) -> None:
    props = synth.one("Custom::TelegramWebhook")[1]["Properties"]
    assert props["AllowedUpdates"] == ["message", "callback_query"]
    assert props["WebhookUrl"]["Fn::Join"][1][-1] == "/telegram"
    assert props["WebhookSecretArn"] == {"Ref": logical_id(synth, "AWS::SecretsManager::Secret")}
    assert "secret:shipit/telegram-bot-token" in json.dumps(props["BotTokenSecretArn"])


def test_parameters(synth) -> None:
    params = synth.template["Parameters"]
    assert {"AllowedUserIds", "RepoUrl", "MainBranch", "MaxTurns", "MaxBudgetUsd"} <= set(params)
    assert re.match(params["AllowedUserIds"]["AllowedPattern"], "123,456")
    assert not re.match(params["AllowedUserIds"]["AllowedPattern"], "123, abc")
    assert re.match(params["RepoUrl"]["AllowedPattern"], "git@github.com:me/app.git")
    assert not re.match(params["RepoUrl"]["AllowedPattern"], "https://github.com/me/app")
    assert set(synth.template["Outputs"]) >= {"WebhookUrl", "PublicUrl", "AgentRuntimeArn"}
