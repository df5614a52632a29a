"""Subnets sit in AZ IDs AgentCore supports: by table, by override, and never by name."""

from __future__ import annotations

import json

import pytest

from infra.app import STACK_NAME, build_app
from infra.zones import AGENTCORE_AZ_IDS, BadZoneIdsError, UnknownRegionError, parse_zone_ids
from tests.infra.conftest import cdk_context


def _subnet_zones(template: dict) -> list:
    subnets = [r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::Subnet"]
    assert len(subnets) == 4  # public + private in each of two zones
    for subnet in subnets:
        # Never a name: names map to different physical zones in different accounts.
        assert "AvailabilityZone" not in subnet["Properties"]
    return [s["Properties"]["AvailabilityZoneId"] for s in subnets]


def _synth(tmp_path, **context) -> dict:
    app = build_app({**cdk_context(), **context}, str(tmp_path))
    app.synth()
    return json.loads((tmp_path / f"{STACK_NAME}.template.json").read_text())


def test_default_template_looks_zones_up_per_region(synth) -> None:
    zones = _subnet_zones(synth.template)
    assert {json.dumps(z) for z in zones} == {
        json.dumps({"Fn::FindInMap": [m, {"Ref": "AWS::Region"}, f"Zone{i}"]})
        for m in {z["Fn::FindInMap"][0] for z in zones}
        for i in (0, 1)
    }
    (mapping,) = synth.template["Mappings"].values()
    assert mapping["us-east-1"] == {"Zone0": "use1-az1", "Zone1": "use1-az2"}
    assert set(mapping) == set(AGENTCORE_AZ_IDS)
    # A region outside the table fails the deploy up front, with the fix in its message.
    (rule,) = [r for k, r in synth.template["Rules"].items() if "SupportedRegion" in k]
    (assertion,) = rule["Assertions"]
    assert assertion["Assert"]["Fn::Contains"][0] == sorted(AGENTCORE_AZ_IDS)
    assert "availabilityZoneIds" in assertion["AssertDescription"]


def test_region_known_at_synth_uses_its_row(tmp_path) -> None:
    template = _synth(tmp_path, region="eu-central-1")
    assert sorted(_subnet_zones(template)) == ["euc1-az1", "euc1-az1", "euc1-az2", "euc1-az2"]


def test_override_places_exactly_those_ids(tmp_path) -> None:
    template = _synth(tmp_path, region="us-east-1", availabilityZoneIds="use1-az4, use1-az2")
    assert sorted(_subnet_zones(template)) == ["use1-az2", "use1-az2", "use1-az4", "use1-az4"]


def test_unknown_region_fails_synth_clearly(tmp_path) -> None:
    with pytest.raises(UnknownRegionError) as failure:
        build_app({**cdk_context(), "region": "mx-central-1"}, str(tmp_path))
    assert failure.value.region == "mx-central-1"
    assert "availabilityZoneIds" in str(failure.value) and "us-east-1" in str(failure.value)


def test_the_cdk_clis_region_counts_as_known(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CDK_DEFAULT_REGION", "sa-east-1")
    with pytest.raises(UnknownRegionError):
        build_app(cdk_context(), str(tmp_path))


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("us-east-1a,us-east-1b", "not an AZ ID"),
        ("use1-az1", "exactly 2"),
        ("use1-az1,use1-az1", "must differ"),
    ],
)
def test_override_must_be_two_ids(raw: str, problem: str) -> None:
    with pytest.raises(BadZoneIdsError, match=problem):
        parse_zone_ids(raw)
