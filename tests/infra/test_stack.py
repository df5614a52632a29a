"""The runtime, its network and its S3 Files workspace, as synthesized."""

from __future__ import annotations

import json
import re

from aws_cdk.assertions import Match

from infra.config import AGENT_GID, AGENT_UID, WORKSPACE_MOUNT_PATH
from tests.infra.template_helpers import logical_id, runtime

CONTRACT_ENV = {
    "SHIPIT_SCREENSHOT_FUNCTION",  # infra/screenshot.py
    "SHIPIT_DAILY_CAP_USD",  # infra/owner.py
    "SHIPIT_WORKSPACE",
    "SHIPIT_REPO_URL",
    "SHIPIT_MAIN_BRANCH",
    "SHIPIT_BOT_TOKEN_SECRET_ARN",
    "SHIPIT_DEPLOY_KEY_SECRET_ARN",
    "SHIPIT_HOSTING",
    "SHIPIT_PUBLIC_URL",
    "SHIPIT_PREVIEW_URL",
    "SHIPIT_SITE_BUCKET",
    "SHIPIT_PRODUCTION_KVS_ARN",
    "CLAUDE_CODE_USE_BEDROCK",
    "AWS_REGION",
    "ANTHROPIC_MODEL",
    "SHIPIT_MAX_TURNS",
    "SHIPIT_MAX_BUDGET_USD",
    "SHIPIT_OWNER_CHAT_ID",
    "SHIPIT_WEBHOOK_URL",
    "SHIPIT_DEPLOYED_VERSION",
    "SHIPIT_CACHE_DIR",
    "SHIPIT_INBOX_BUCKET",  # infra/inbox.py
}


def test_synthesizes_environment_agnostic(synth) -> None:
    assert synth.stack.account.startswith("${Token[")
    assert synth.stack.region.startswith("${Token[")
    # No account id or region baked in anywhere (the AZ table lists regions only as its keys).
    template = dict(synth.template)
    template.pop("Mappings")
    template["Rules"] = {k: v for k, v in template["Rules"].items() if "SupportedRegion" not in k}
    text = json.dumps(template)
    assert not re.search(r"\b\d{12}\b", text)
    assert "us-east-1" not in text


def test_every_part_is_there(synth) -> None:
    counts = {
        "AWS::BedrockAgentCore::Runtime": 1,
        "AWS::S3Files::FileSystem": 1,
        "AWS::S3Files::AccessPoint": 1,
        "AWS::S3Files::MountTarget": 2,
        "AWS::ApiGatewayV2::Api": 1,
        "AWS::ApiGatewayV2::Route": 1,
        "AWS::ApiGatewayV2::Stage": 1,
        "AWS::CloudFront::Distribution": 2,  # production and the preview origin
        "AWS::CloudFront::OriginAccessControl": 1,
        "AWS::CloudFront::Function": 2,
        "AWS::CloudFront::KeyValueStore": 1,
        "AWS::EC2::VPC": 1,
        "AWS::EC2::NatGateway": 1,
        "AWS::SecretsManager::Secret": 1,
        "Custom::TelegramWebhook": 1,
        "AWS::S3::Bucket": 4,  # access logs, workspace, site, the chats' inbox
    }
    for cfn_type, count in counts.items():
        synth.assertions.resource_count_is(cfn_type, count)


def test_runtime_runs_in_the_vpc_with_the_workspace_mounted(synth) -> None:
    props = runtime(synth)["Properties"]
    assert props["NetworkConfiguration"]["NetworkMode"] == "VPC"
    subnets = props["NetworkConfiguration"]["NetworkModeConfig"]["Subnets"]
    assert all("private" in s["Ref"] for s in subnets) and len(subnets) == 2
    access_point = logical_id(synth, "AWS::S3Files::AccessPoint")
    assert props["FilesystemConfigurations"] == [
        {
            "S3FilesAccessPoint": {
                "AccessPointArn": {"Fn::GetAtt": [access_point, "AccessPointArn"]},
                "MountPath": WORKSPACE_MOUNT_PATH,
            }
        }
    ]
    assert WORKSPACE_MOUNT_PATH == "/mnt/workspace"


def test_runtime_waits_for_the_mount_targets(synth) -> None:
    depends_on = set(runtime(synth)["DependsOn"])
    assert set(synth.resources("AWS::S3Files::MountTarget")) <= depends_on


def test_runtime_lifecycle_is_chosen(synth) -> None:
    lifecycle = runtime(synth)["Properties"]["LifecycleConfiguration"]
    assert lifecycle == {"IdleRuntimeSessionTimeout": 900, "MaxLifetime": 7200}


def test_runtime_environment_matches_the_contract(synth) -> None:
    env = runtime(synth)["Properties"]["EnvironmentVariables"]
    assert set(env) == CONTRACT_ENV
    assert env["SHIPIT_WORKSPACE"] == "/mnt/workspace"
    assert env["SHIPIT_HOSTING"] == "s3"
    assert env["CLAUDE_CODE_USE_BEDROCK"] == "1"
    assert env["AWS_REGION"] == {"Ref": "AWS::Region"}
    assert env["ANTHROPIC_MODEL"].startswith("us.anthropic.claude")
    assert env["SHIPIT_REPO_URL"] == {"Ref": "RepoUrl"}
    assert env["SHIPIT_MAX_TURNS"] == {"Ref": "MaxTurns"}
    assert env["SHIPIT_MAX_BUDGET_USD"] == {"Ref": "MaxBudgetUsd"}
    by_comment = {
        d["Properties"]["DistributionConfig"]["Comment"]: name
        for name, d in synth.resources("AWS::CloudFront::Distribution").items()
    }
    for variable, comment in (
        ("SHIPIT_PUBLIC_URL", "Shipit production"),
        ("SHIPIT_PREVIEW_URL", "Shipit previews"),
    ):
        assert env[variable] == {
            "Fn::Join": ["", ["https://", {"Fn::GetAtt": [by_comment[comment], "DomainName"]}]]
        }
    kvs = logical_id(synth, "AWS::CloudFront::KeyValueStore")
    assert env["SHIPIT_PRODUCTION_KVS_ARN"] == {"Fn::GetAtt": [kvs, "Arn"]}
    # Secrets are passed as ARNs only.
    for name in ("SHIPIT_BOT_TOKEN_SECRET_ARN", "SHIPIT_DEPLOY_KEY_SECRET_ARN"):
        assert ":secretsmanager:" in json.dumps(env[name])


def test_access_point_runs_as_the_container_user(synth) -> None:
    synth.assertions.has_resource_properties(
        "AWS::S3Files::AccessPoint",
        {
            "PosixUser": {"Uid": str(AGENT_UID), "Gid": str(AGENT_GID)},
            "RootDirectory": {
                "Path": "/workspace",
                "CreationPermissions": {
                    "OwnerUid": str(AGENT_UID),
                    "OwnerGid": str(AGENT_GID),
                    "Permissions": "750",
                },
            },
        },
    )


def test_file_system_sits_on_a_versioned_bucket_with_its_own_role(synth) -> None:
    fs = synth.one("AWS::S3Files::FileSystem")[1]["Properties"]
    bucket_id = fs["Bucket"]["Fn::GetAtt"][0]
    bucket = synth.template["Resources"][bucket_id]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    role = synth.template["Resources"][fs["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "elasticfilesystem.amazonaws.com"}]
    assert "aws:SourceAccount" in json.dumps(trust)


def test_one_mount_target_per_private_subnet(synth) -> None:
    targets = synth.resources("AWS::S3Files::MountTarget").values()
    subnets = sorted(t["Properties"]["SubnetId"]["Ref"] for t in targets)
    assert subnets == sorted(
        s["Ref"]
        for s in runtime(synth)["Properties"]["NetworkConfiguration"]["NetworkModeConfig"][
            "Subnets"
        ]
    )
    assert all(len(t["Properties"]["SecurityGroups"]) == 1 for t in targets)


def test_nfs_only_from_theruntime(synth) -> None:
    ingress = list(synth.resources("AWS::EC2::SecurityGroupIngress").values())
    assert len(ingress) == 1
    rule = ingress[0]["Properties"]
    runtime_sg = runtime(synth)["Properties"]["NetworkConfiguration"]["NetworkModeConfig"][
        "SecurityGroups"
    ][0]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 2049, 2049)
    assert rule["SourceSecurityGroupId"] == runtime_sg
    # No security group of the stack accepts traffic from the internet.
    for sg in synth.resources("AWS::EC2::SecurityGroup").values():
        assert "SecurityGroupIngress" not in sg["Properties"]


def test_runtime_security_group_allows_only_what_it_needs(synth) -> None:
    sg_id = runtime(synth)["Properties"]["NetworkConfiguration"]["NetworkModeConfig"][
        "SecurityGroups"
    ][0]["Fn::GetAtt"][0]
    egress = synth.template["Resources"][sg_id]["Properties"]["SecurityGroupEgress"]
    assert sorted((e["FromPort"], e["CidrIp"]) for e in egress) == [
        (22, "0.0.0.0/0"),
        (443, "0.0.0.0/0"),
    ]
    extra = [
        e["Properties"]
        for e in synth.resources("AWS::EC2::SecurityGroupEgress").values()
        if e["Properties"]["GroupId"] == {"Fn::GetAtt": [sg_id, "GroupId"]}
    ]
    assert [(e["FromPort"], e["ToPort"]) for e in extra] == [(2049, 2049)]
    assert "DestinationSecurityGroupId" in extra[0]


def test_vpc_has_private_subnets_and_nat(synth) -> None:
    synth.assertions.resource_count_is("AWS::EC2::Subnet", 4)
    synth.assertions.has_resource_properties(
        "AWS::EC2::Route",
        {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": Match.any_value()},
    )
