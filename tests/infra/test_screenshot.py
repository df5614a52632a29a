"""The screenshot Lambda: a Chromium image outside the agent, callable by the runtime alone."""

from __future__ import annotations

import json

from tests.infra.template_helpers import granting, runtime, runtime_role_id, statements


def _function(synth) -> tuple[str, dict]:
    found = {
        k: v
        for k, v in synth.resources("AWS::Lambda::Function").items()
        if v["Properties"].get("PackageType") == "Image"
    }
    assert len(found) == 1, found
    return next(iter(found.items()))


def test_screenshot_function_is_an_arm64_image_limited_to_the_public_url(synth) -> None:
    logical, function = _function(synth)
    props = function["Properties"]
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] >= 1024 and props["Timeout"] <= 60
    prefix = props["Environment"]["Variables"]["SHIPIT_SCREENSHOT_ALLOWED_PREFIX"]
    assert "DomainName" in json.dumps(prefix)  # the CloudFront URL, nothing else
    assert "VpcConfig" not in props  # renders public pages from outside the VPC


def test_runtime_may_invoke_exactly_that_function_and_knows_its_name(synth) -> None:
    logical, _ = _function(synth)
    env = runtime(synth)["Properties"]["EnvironmentVariables"]
    assert env["SHIPIT_SCREENSHOT_FUNCTION"] == {"Fn::GetAtt": [logical, "Arn"]}
    (grant,) = granting(statements(synth, runtime_role_id(synth)), "lambda:InvokeFunction")
    assert grant["Resource"] == {"Fn::GetAtt": [logical, "Arn"]}


def test_screenshot_image_holds_only_the_browser_code(synth) -> None:
    assets = json.loads((synth.outdir / "Shipit.assets.json").read_text())
    contexts = [synth.outdir / i["source"]["directory"] for i in assets["dockerImages"].values()]
    (browser,) = [c for c in contexts if (c / "chromium.py").exists()]
    assert sorted(p.name for p in browser.iterdir()) == [
        ".dockerignore",
        "Dockerfile",
        "__init__.py",
        "chromium.py",
        "lambda_handler.py",
    ]
    assert "chromium" in (browser / "Dockerfile").read_text()


def test_daily_cap_is_a_parameter_passed_to_the_runtime(synth) -> None:
    params = synth.template["Parameters"]
    assert params["DailyCapUsd"]["Default"] == 0 and params["DailyCapUsd"]["MinValue"] == 0
    env = runtime(synth)["Properties"]["EnvironmentVariables"]
    assert env["SHIPIT_DAILY_CAP_USD"] == {"Ref": "DailyCapUsd"}
    assert env["SHIPIT_OWNER_CHAT_ID"] == {"Ref": "OwnerChatId"}  # infra's parameter, reused
