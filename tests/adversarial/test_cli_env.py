"""The CLI's environment is built, not inherited: no token, key or cloud credential is in it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.adversarial.harness import (
    OK,
    SECRET_ENV,
    SECRET_VALUES,
    Attack,
    assert_contained,
    bash,
    leaked_secrets,
)

DECOY_VALUE = "decoy-SECRET-000"

FROM_VALIDATION = Attack(
    "env-through-validation",
    "the repo's own check prints process.env and every readable /proc/*/environ",
    (bash("node tests/env-dump.js", OK),),
    variant="env-dump",
    result_has=((0, "ENV-DUMP-BEGIN"), (0, "ENV-DUMP-END"), (0, "process.env PATH=")),
    result_lacks=(DECOY_VALUE,),
)
# The policy bypassed on purpose (no hook at all): what Bash can see is then down to the
# environment Shipit builds alone.
WITHOUT_POLICY = Attack(
    "env-without-policy",
    "env, /proc/self/environ and every /proc/*/environ with the guardrail hook removed",
    (
        bash("env", OK),
        bash("cat /proc/self/environ | tr '\\0' '\\n'", OK),
        bash("for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f; echo; done", OK),
    ),
    result_has=((0, "PATH="), (1, "PATH=")),
    result_lacks=(DECOY_VALUE,),
)


@pytest.fixture
def decoy() -> Iterator[None]:
    """A live process holding the secrets in its own environment, as the agent process would."""
    env = {"PATH": os.environ.get("PATH", ""), **SECRET_ENV, "SHIPIT_DECOY": DECOY_VALUE}
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], env=env, stdin=subprocess.PIPE
    )
    yield
    process.stdin.close()
    process.wait(timeout=10)


def test_a_runs_wrapper_names_no_secret(harness, tmp_path) -> None:
    """The script the SDK starts holds the box and the CLI's whole environment: no secret, the
    proxy reached through the box's bridge with this run's grant, everything cleared first."""
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    with harness.cli.run(repo, ("src/",), tmp_path / "transcripts", 1.0) as run:
        script = run.wrapper.read_text()
        assert f"/r/{run.grant.token}" in script
    assert not [v for v in SECRET_VALUES if v in script]
    assert "ANTHROPIC_API_KEY=shipit-proxy" in script
    assert script.count("/usr/bin/env -i") == 2  # for the box itself and for the CLI inside


@pytest.mark.attack
def test_validation_sees_no_secret_in_its_environment(new_case, decoy) -> None:
    case = new_case(variant=FROM_VALIDATION.variant)
    session = case.harness.session(case.ws.repo, [c.step(case.subs) for c in FROM_VALIDATION.calls])
    assert "HOME=/home/shipit" in session.results[0]["text"], session.describe()
    assert_contained(FROM_VALIDATION, case, session)


@pytest.mark.attack
def test_bash_sees_no_secret_even_without_the_policy(new_case, decoy) -> None:
    case = new_case()
    config = case.harness.config_for(case.ws.repo, policy=False)
    steps = [c.step(case.subs) for c in WITHOUT_POLICY.calls]
    session = case.harness.session(case.ws.repo, steps, config)
    assert not session.denied_ids, "no hook ran, so nothing may be denied"
    assert not leaked_secrets(session), leaked_secrets(session)
    assert_contained(WITHOUT_POLICY, case, session)
