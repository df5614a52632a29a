"""Self-check probes against real peers (loopback model stand-in, real git, real folders) and the report."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agent import selfcheck
from agent import selfcheck_probes as probes
from agent.hosting import LocalHosting
from agent.model_routes import FIRST_PARTY, INVOKE_MODEL, MESSAGES_API
from agent.selfcheck_probes import Finding, Status
from local.servers import serve_in_thread


@pytest.fixture
def model_standin():
    """A loopback model endpoint whose answer the test chooses; records what it was sent."""
    seen: list[tuple[str, dict]] = []
    answer = {
        "status": 200,
        "body": {"type": "message", "content": [{"type": "text", "text": "OK"}]},
    }

    async def handle(request: Request) -> JSONResponse:
        seen.append((request.url.path, await request.json()))
        return JSONResponse(answer["body"], answer["status"])

    app = Starlette(routes=[Route("/{path:path}", handle, methods=["POST"])])
    server = serve_in_thread(app, name="model-standin")
    yield server.url, answer, seen
    server.stop()


def test_model_answers(model_standin) -> None:
    url, _answer, seen = model_standin
    finding = probes.model_at(url, "claude-test", FIRST_PARTY)
    assert finding.status is Status.OK
    path, body = seen[-1]
    assert path == "/v1/messages" and body["max_tokens"] == 1 and body["model"] == "claude-test"


def test_bedrock_model_refusal_is_a_failure_with_advice(model_standin) -> None:
    url, answer, seen = model_standin
    answer.update(status=403, body={"message": "You don't have access to the model"})
    finding = probes.model_at(url, "us.anthropic.claude-sonnet-4-6", INVOKE_MODEL)
    assert seen[-1][0] == "/model/us.anthropic.claude-sonnet-4-6/invoke"
    assert seen[-1][1]["anthropic_version"] == "bedrock-2023-05-31"
    assert finding.status is Status.FAIL
    assert "HTTP 403" in finding.detail and "access to the model" in finding.detail
    assert "Model access" in finding.action


def test_messages_api_model_answers_with_the_model_in_the_body(model_standin) -> None:
    url, _answer, seen = model_standin
    finding = probes.model_at(url, "anthropic.claude-sonnet-5-5", MESSAGES_API)
    assert finding.status is Status.OK and "answers" in finding.detail
    path, body = seen[-1]
    assert path == "/v1/messages" and body["model"] == "anthropic.claude-sonnet-5-5"
    assert body["max_tokens"] == 1 and "anthropic_version" not in body


def test_unreachable_model_is_a_failure() -> None:
    finding = probes.model_at("http://127.0.0.1:9", "m", FIRST_PARTY)
    assert finding.status is Status.FAIL and "did not answer" in finding.detail


def _origin(tmp_path: Path) -> Path:
    work, origin = tmp_path / "work", tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    (work / "README").write_text("app\n")
    git = ["git", "-C", str(work), "-c", "user.name=a", "-c", "user.email=a@b.c"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(origin)], check=True)
    return origin


def test_deploy_key_probe_finds_the_branch_or_says_why(tmp_path) -> None:
    origin = _origin(tmp_path)
    assert probes.deploy_key(str(origin), "main", None).status is Status.OK
    missing = probes.deploy_key(str(origin), "production", None)
    assert missing.status is Status.FAIL and "no branch 'production'" in missing.detail
    gone = probes.deploy_key(str(tmp_path / "nowhere.git"), "main", None)
    assert gone.status is Status.FAIL and "Deploy keys" in gone.action


def test_workspace_probe(tmp_path) -> None:
    assert probes.workspace(tmp_path / "ws").status is Status.OK
    assert not list((tmp_path / "ws").iterdir())  # leaves nothing behind
    (tmp_path / "file").write_text("not a folder")
    broken = probes.workspace(tmp_path / "file")
    assert broken.status is Status.FAIL and "S3 Files" in broken.action


def test_hosting_probe_does_not_touch_whats_live(tmp_path) -> None:
    site = tmp_path / "site"
    hosting = LocalHosting(site, "http://127.0.0.1:1")
    assert probes.hosting(hosting, "v1").status is Status.OK
    assert hosting.live_build() is None and not list((site / "builds").iterdir())
    (tmp_path / "blocked").write_text("a file where the site folder should be")
    broken = probes.hosting(LocalHosting(tmp_path / "blocked", "http://x"), "v1")
    assert broken.status is Status.FAIL


def test_selftest_is_the_owners_alone() -> None:
    assert selfcheck.is_request("/selftest", 42, 42)
    assert selfcheck.is_request(" /SelfTest@shipit_bot ", 42, 42)
    assert not selfcheck.is_request("/selftest", 7, 42)
    assert not selfcheck.is_request("/selftest", 42, None)
    assert not selfcheck.is_request("run the selftest", 42, 42)


def test_report_lists_every_item_and_advice_only_where_needed() -> None:
    findings = [
        Finding("Workspace storage", Status.OK, "fine", "never shown"),
        Finding("Telegram webhook", Status.WARN, "last delivery failed: <timeout>", "look"),
        Finding("Claude model", Status.FAIL, "refused", "enable it"),
    ]
    text = selfcheck.report(findings, "on request (/selftest)", "0123456789abcdef")
    lines = text.splitlines()
    assert "version 0123456789ab" in lines[0]
    assert "✅ <b>Workspace storage</b>: fine" in lines and "never shown" not in text
    assert "&lt;timeout&gt;" in text  # details are escaped, so they cannot break the HTML
    fail = lines.index("❌ <b>Claude model</b>: refused")
    assert lines[fail + 1].strip() == "👉 enable it"
    assert "1 ❌ need you" in text


def test_marker_is_per_version(tmp_path) -> None:
    assert selfcheck.marker_path(tmp_path, "abc").name == "abc.json"
    assert selfcheck.marker_path(tmp_path, "").name == "unversioned.json"
    assert selfcheck.marker_path(tmp_path, "../../etc").parent == tmp_path / "selfcheck"


async def test_first_start_needs_an_owner_and_runs_once_per_version(tmp_path) -> None:
    from agent.context import Deps
    from agent.settings import Settings
    from agent.state import StateStore

    def deps(**env: str) -> Deps:
        settings = Settings.from_env({"SHIPIT_WORKSPACE": str(tmp_path), **env})
        # No chat, hosting or bot: first_start must return before it would touch any of them.
        return Deps(settings=settings, store=StateStore(tmp_path), chat=None, hosting=None)

    await selfcheck.first_start(deps(SHIPIT_DEPLOYED_VERSION="v9"), bot=None)
    assert not (tmp_path / "selfcheck").exists()  # no owner: nothing runs, nothing is marked
    marker = selfcheck.marker_path(tmp_path, "v9")
    marker.parent.mkdir(parents=True)
    marker.write_text("{}")
    await selfcheck.first_start(
        deps(SHIPIT_DEPLOYED_VERSION="v9", SHIPIT_OWNER_CHAT_ID="42"), bot=None
    )
    assert marker.read_text() == "{}"  # this version already ran: not again


@pytest.mark.parametrize(
    ("capture", "named"),
    [
        (
            "node20-fail.txt",
            "not ok 2 - 45 degree travel is offset times 1.414 / "
            "not ok 4 - 11.25 degree travel is offset times 5.126",
        ),
        (
            "node24-fail.txt",
            "✖ 45 degree travel is offset times 1.414 / ✖ 11.25 degree travel is offset times 5.126",
        ),
    ],
)
def test_a_failing_main_names_the_failing_tests_on_node_20_and_24(capture, named) -> None:
    """Real `node --test` output of the sample app with 2 of 8 tests broken (TAP on Node 20,
    the spec reporter on Node 24): the owner reads which tests fail, each once."""
    output = (Path(__file__).parent / "node_test_output" / capture).read_text()
    assert probes._failure_lines(output) == named
