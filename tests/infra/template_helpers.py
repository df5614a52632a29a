"""Small readers over the synthesized template, shared by the stack tests."""

from __future__ import annotations


def logical_id(synth, cfn_type: str) -> str:
    return synth.one(cfn_type)[0]


def statements(synth, role_id: str) -> list[dict]:
    """Every statement attached to one role, through AWS::IAM::Policy resources."""
    found = []
    for policy in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return found


def actions(statement: dict) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else value


def granting(found: list[dict], action: str) -> list[dict]:
    return [s for s in found if action in actions(s)]


def runtime(synth) -> dict:
    return synth.one("AWS::BedrockAgentCore::Runtime")[1]


def runtime_role_id(synth) -> str:
    return runtime(synth)["Properties"]["RoleArn"]["Fn::GetAtt"][0]
