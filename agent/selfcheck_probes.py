"""The self-check's probes: each tries one real thing Shipit depends on and says what it found."""

from __future__ import annotations

import enum
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from agent.guard.rungs import SETUID_BWRAP, Isolation
from agent.model_routes import INVOKE_MODEL, MESSAGES_API, messages_api_model_id
from agent.repo import GitError, Repo
from agent.repo_config import RepoConfigError, load_repo_config

MODEL_TIMEOUT_S = 60.0


class Status(enum.Enum):
    OK = "✅"
    WARN = "⚠️"
    FAIL = "❌"


@dataclass(frozen=True)
class Finding:
    """One line of the report: what was checked, what was found, and what to do about it."""

    name: str
    status: Status
    detail: str
    action: str = ""


def workspace(root: Path) -> Finding:
    """A file and a git commit on the workspace mount (S3 Files in AWS), then cleaned away."""
    name = "Workspace storage"
    probe = root / f".selfcheck-{secrets.token_hex(4)}"
    try:
        probe.mkdir(parents=True)
        (probe / "probe.txt").write_text("shipit self-check\n")
        if (probe / "probe.txt").read_text() != "shipit self-check\n":
            raise OSError("read back something else than was written")
        repo = Repo(path=probe, url="")
        repo.git("init", "--quiet", "--initial-branch=main")
        repo.git("add", "probe.txt")
        repo.git("commit", "--quiet", "-m", "self-check")
        repo.git("rev-parse", "HEAD")
    except (OSError, GitError, subprocess.SubprocessError) as exc:
        return Finding(
            name,
            Status.FAIL,
            f"{root} is not usable: {_short(exc)}",
            "Check that the S3 Files mount is attached to the runtime and its access point lets "
            "user 10001 write (redeploy the stack if someone changed it).",
        )
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return Finding(name, Status.OK, f"{root} is writable and git works on it")


def sandbox(isolation: Isolation, allow_unsandboxed: bool) -> Finding:
    """Which rung of the OS box the agent got at start-up (agent.guard.rungs probed it)."""
    name = "Sandbox for the agent"
    if isolation.boxed:
        return Finding(name, Status.OK, f"the {isolation.describe()} box works")
    why = "; ".join(isolation.why_not_stronger) or "no rung works here"
    fix = (
        "Redeploy with the image built from this repo's Dockerfile: it installs bubblewrap, "
        f"socat and the setuid copy at {SETUID_BWRAP}."
    )
    if allow_unsandboxed:
        return Finding(
            name,
            Status.WARN,
            f"no box ({why}); SHIPIT_ALLOW_UNSANDBOXED=1 runs the AI unboxed",
            fix,
        )
    return Finding(name, Status.FAIL, f"no box works ({why}), so change requests are refused", fix)


def process_user(expected_uid: int | None) -> Finding:
    """In the container the agent runs as its non-root user; on one's own machine it's a hint."""
    name = "Agent user"
    uid = os.geteuid()
    if uid == 0 and expected_uid is None:
        return Finding(
            name,
            Status.WARN,
            "runs as root: fine on your own machine; the container runs as uid 10001",
        )
    if uid == 0:
        return Finding(
            name,
            Status.FAIL,
            "the agent runs as root",
            "Run the image as built: its Dockerfile switches to the non-root user 10001.",
        )
    if expected_uid is not None and uid != expected_uid:
        return Finding(
            name,
            Status.WARN,
            f"runs as uid {uid}, not {expected_uid}: files on the workspace may not be its own",
            "Run the image as built (USER 10001, the workspace access point's user).",
        )
    return Finding(name, Status.OK, f"runs as uid {uid}, not root")


def model(proxy, model_id: str) -> Finding:
    """One tiny request through the model proxy (agent.model_proxy), under a few-cent grant,
    on the integration the proxy speaks for this model (agent.model_routes)."""
    grant = proxy.open(cap_usd=0.05)
    try:
        return model_at(proxy.grant_url(grant), model_id, proxy.route)
    finally:
        proxy.close(grant)


def model_at(proxy_url: str, model_id: str, route: str) -> Finding:
    """The request itself, to a base URL that reaches the model (the proxy's grant URL)."""
    name = "Claude model"
    label = model_id or "the default model"
    body: dict = {"max_tokens": 1, "messages": [{"role": "user", "content": "Say OK."}]}
    if route == INVOKE_MODEL:
        url = f"{proxy_url}/model/{model_id}/invoke"
        body["anthropic_version"] = "bedrock-2023-05-31"
        headers = {"content-type": "application/json"}
    else:
        # The Messages API, first-party or Bedrock's endpoint: the model is named in the body.
        url = f"{proxy_url}/v1/messages"
        body["model"] = model_id or "claude-sonnet-4-6"
        headers = {"anthropic-version": "2023-06-01"}
        if route == MESSAGES_API:
            body["model"] = messages_api_model_id(body["model"])
        else:
            headers["x-api-key"] = "shipit-proxy"
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=MODEL_TIMEOUT_S)
        answered = response.status_code == 200 and "content" in response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return Finding(name, Status.FAIL, f"{label} did not answer: {_short(exc)}", _MODEL_ACTION)
    if not answered:
        reason = _error_text(response)
        return Finding(
            name,
            Status.FAIL,
            f"{label} refused (HTTP {response.status_code}: {reason})",
            _MODEL_ACTION,
        )
    return Finding(name, Status.OK, f"{label} answers")


_MODEL_ACTION = (
    "In the Amazon Bedrock console, open Model access and enable this Claude model for the "
    "stack's region (or deploy with -c model=<a model you have>); with the Anthropic API, "
    "check the API key."
)


async def webhook(bot, expected_url: str) -> Finding:
    """Telegram delivers to the URL the stack registered (getWebhookInfo)."""
    name = "Telegram webhook"
    if not expected_url:
        return Finding(name, Status.WARN, "not checked: SHIPIT_WEBHOOK_URL is not set")
    info = await bot.get_webhook_info()
    if info.url != expected_url:
        registered = info.url or "nothing"
        return Finding(
            name,
            Status.FAIL,
            f"Telegram sends updates to {registered}, not to {expected_url}",
            "Redeploy with -c webhookRevision=<a new number>: the deploy registers the webhook "
            "again (and check nobody else uses this bot token).",
        )
    if info.last_error_message:
        return Finding(
            name,
            Status.WARN,
            f"registered, but Telegram's last delivery failed: {info.last_error_message}",
            "If this repeats, look at the relay's logs and the API alarm.",
        )
    return Finding(name, Status.OK, "registered with the stack's URL")


def hosting(hosting_obj, version: str) -> Finding:
    """Writes where publishing and the production switch write, without changing what's live."""
    name = "Site hosting"
    try:
        if hasattr(hosting_obj, "site_dir"):  # LocalHosting
            probe = Path(hosting_obj.site_dir) / "builds" / ".shipit-selfcheck"
            probe.parent.mkdir(parents=True, exist_ok=True)
            probe.write_text(version)
            probe.unlink()
            switch = Path(hosting_obj.site_dir) / ".production.selfcheck"
            switch.write_text(version)
            switch.unlink()
        else:  # S3Hosting: the same bucket prefix and KeyValueStore the real steps use
            hosting_obj.s3.put_object(
                Bucket=hosting_obj.bucket, Key="builds/.shipit-selfcheck", Body=version.encode()
            )
            etag = hosting_obj.kvs.describe_key_value_store(KvsARN=hosting_obj.kvs_arn)["ETag"]
            # A key of its own: the viewer function only ever reads "production".
            hosting_obj.kvs.put_key(
                KvsARN=hosting_obj.kvs_arn, Key="selfcheck", Value=version or "-", IfMatch=etag
            )
    except Exception as exc:  # noqa: BLE001 - any failure here is the finding itself
        return Finding(
            name,
            Status.FAIL,
            f"cannot write the site or the production switch: {_short(exc)}",
            "Redeploy the stack: the runtime's role must be allowed to write builds/ in the "
            "site bucket and the production KeyValueStore.",
        )
    return Finding(name, Status.OK, "the site bucket and the production switch are writable")


def deploy_key(repo_url: str, main: str, credentials) -> Finding:
    """`git ls-remote` with the deploy key: the repo is reachable and has the main branch."""
    name = "Access to the app's code"
    with tempfile.TemporaryDirectory(prefix="shipit-selfcheck-") as tmp:
        repo = Repo(path=Path(tmp), url=repo_url, main=main, credentials=credentials)
        try:
            heads = repo.git("ls-remote", "--heads", repo_url, main, network=True)
        except (GitError, subprocess.SubprocessError) as exc:
            return Finding(
                name,
                Status.FAIL,
                f"cannot fetch {repo_url}: {_short(exc)}",
                "Add the deploy key's public half to the repository (GitHub: Settings → Deploy "
                "keys, with write access) and check the RepoUrl parameter.",
            )
    if not heads:
        return Finding(
            name,
            Status.FAIL,
            f"{repo_url} has no branch {main!r}",
            "Push the app's code to that branch, or redeploy with the right MainBranch.",
        )
    return Finding(name, Status.OK, f"the deploy key can fetch {main} of {repo_url}")


def checks_on_main(repo_url: str, main: str, credentials, run, scratch: Path) -> Finding:
    """A fresh clone of main: the repo's own install, checks and build, as a request runs them."""
    name = "The app's checks and build on main"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="selfcheck-main-", dir=scratch) as tmp:
        repo = Repo(path=Path(tmp) / "repo", url=repo_url, main=main, credentials=credentials)
        try:
            head = repo.sync()
            repo.start_branch("selfcheck", head)
            config = load_repo_config(repo.path)
        except (GitError, RepoConfigError) as exc:
            return Finding(name, Status.FAIL, f"could not read main: {_short(exc)}", _MAIN_ACTION)
        steps = [("install", config.install, True), ("checks", config.validate, False)]
        steps.append(("build", config.build, False))
        ran = []
        for step, command, network in steps:
            if not command:
                continue
            result = run(command, repo.path, network)
            if not result.ok:
                return Finding(
                    name,
                    Status.FAIL,
                    f"the {step} step (`{command}`) failed on main: {_failure_lines(result.output)}",
                    _MAIN_ACTION,
                )
            ran.append(f"`{command}`")
    if not ran:
        return Finding(name, Status.WARN, "the app defines no checks or build (.shipit.toml)")
    return Finding(name, Status.OK, f"{', '.join(ran)} pass on main ({head[:8]})")


_MAIN_ACTION = (
    "Fix main first (Shipit only ships changes whose checks pass, so every request would fail), "
    "or correct the commands in the app's .shipit.toml."
)


# The spec reporter (node --test on Node 23+) marks a failing test "✖ name (1.2ms)", and lists
# each again under its "✖ failing tests:" header.
_SPEC_FAILED = re.compile(r"✖ (?!failing tests:$)(.+?)(?: \([\d.]+m?s\))?")


def _failure_lines(output: str) -> str:
    """The lines that say what failed (test runners print them among much else)."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    # TAP's "not ok" or the spec reporter's "✖" names the failing test; otherwise any line that
    # mentions a failure.
    failed = [line for line in lines if line.startswith("not ok")]
    failed += [f"✖ {m.group(1)}" for m in map(_SPEC_FAILED.fullmatch, lines) if m]
    failed = list(dict.fromkeys(failed))
    telling = failed or [line for line in lines if re.search(r"fail|error", line, re.IGNORECASE)]
    return " / ".join((telling or lines)[-3:])[:300]


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
        error = data.get("error", data)
        return str(error.get("message") or error)[:200]
    except (ValueError, AttributeError):
        return response.text[:200] or "no details"


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[-1] if text else type(exc).__name__)[:300]
