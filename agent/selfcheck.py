"""First-start self-check: after a deploy (and on /selftest from the owner), try everything for real and tell the owner.

Nobody can rehearse a deploy offline, so whatever only a real account shows (a missing model
grant, a webhook pointing elsewhere, no user namespaces for the sandbox, red checks on main) is
found here and reported to the owner's chat in plain words: ✅ fine, ⚠️ worth a look, ❌ broken,
each ❌ with what to do. The first start of each deployed version (SHIPIT_DEPLOYED_VERSION, the
image hash) runs it once; a marker on the workspace remembers that it ran.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from agent import selfcheck_probes as probes
from agent.context import Deps, blocking
from agent.messages import Raw, render
from agent.selfcheck_probes import Finding, Status

log = logging.getLogger(__name__)

COMMAND = "/selftest"
# The container's user (Dockerfile USER, infra/config.py AGENT_UID; tests/infra compares them).
CONTAINER_UID = 10001
# The command the container starts with; the first-start check hooks into its start-up.
START_COMMAND = ("python", "-m", "agent")


def is_request(text: str | None, chat_id: int, owner_chat_id: int | None) -> bool:
    """Only the owner's own chat may ask (anyone else's /selftest is an ordinary message)."""
    if owner_chat_id is None or chat_id != owner_chat_id or not text:
        return False
    return text.strip().split("@", 1)[0].lower() == COMMAND


def marker_path(workspace: Path, version: str) -> Path:
    safe = "".join(c for c in version if c.isalnum() or c in "-_.")[:80] or "unversioned"
    return workspace / "selfcheck" / f"{safe}.json"


async def run_checks(deps: Deps, bot) -> list[Finding]:
    """Every probe, concurrently where they are independent; a probe that crashes is a ❌."""
    settings = deps.settings
    in_container = settings.hosting == "s3"  # AWS: the container image's user must be used
    credentials = deps.deploy_key.ssh_command if deps.deploy_key else None
    proxy = deps.cli_box.proxy if deps.cli_box else None
    checks: list[tuple[str, Callable[[], Awaitable[Finding]]]] = [
        ("Workspace storage", lambda: blocking(probes.workspace, settings.workspace)),
        (
            "Sandbox for the agent",
            lambda: blocking(probes.sandbox, deps.isolation, settings.allow_unsandboxed),
        ),
        (
            "Agent user",
            lambda: blocking(probes.process_user, CONTAINER_UID if in_container else None),
        ),
        (
            "Claude model",
            lambda: blocking(probes.model, proxy, settings.model),
        ),
        ("Telegram webhook", lambda: probes.webhook(bot, settings.webhook_url)),
        ("Site hosting", lambda: blocking(probes.hosting, deps.hosting, settings.deployed_version)),
        (
            "Access to the app's code",
            lambda: blocking(
                probes.deploy_key, settings.repo_url, settings.main_branch, credentials
            ),
        ),
        (
            "The app's checks and build on main",
            lambda: blocking(
                probes.checks_on_main,
                settings.repo_url,
                settings.main_branch,
                credentials,
                lambda command, cwd, network: deps.run(command, cwd, network=network),
                # Local disk, never the workspace mount (node_modules is tens of thousands of files).
                Path(tempfile.gettempdir()) / "shipit-selfcheck",
            ),
        ),
    ]
    return list(await asyncio.gather(*(_guarded(name, check) for name, check in checks)))


async def _guarded(name: str, check: Callable[[], Awaitable[Finding]]) -> Finding:
    try:
        return await check()
    except Exception as exc:  # noqa: BLE001 - the report must list every item, whatever broke
        log.exception("self-check %r crashed", name)
        return Finding(
            name,
            Status.FAIL,
            f"the check itself failed ({type(exc).__name__}: {str(exc)[:200]})",
            "Look at the agent's logs for this error; run /selftest again after fixing it.",
        )


def report(findings: list[Finding], reason: str, version: str) -> str:
    """The Telegram message (HTML): one line per item, an action under each ❌ and ⚠️."""
    lines = [render("selfcheck_header", reason=reason, version=version[:12] or "local")]
    for finding in findings:
        lines.append(
            render(
                "selfcheck_item",
                mark=finding.status.value,
                name=finding.name,
                detail=finding.detail,
            )
        )
        if finding.action and finding.status is not Status.OK:
            lines.append(render("selfcheck_action", action=finding.action))
    failed = sum(f.status is Status.FAIL for f in findings)
    lines.append(
        render("selfcheck_problems", count=failed)
        if failed
        else render("selfcheck_all_good", count=len(findings))
    )
    return Raw("\n".join(lines))


async def run_and_log(deps: Deps, bot) -> list[Finding]:
    """Run every check and log each result (a ❌ is an ERROR line, which the alarm counts)."""
    started = time.monotonic()
    findings = await run_checks(deps, bot)
    for finding in findings:
        level = logging.ERROR if finding.status is Status.FAIL else logging.INFO
        log.log(level, "self-check %s %s: %s", finding.status.name, finding.name, finding.detail)
    log.info("self-check finished in %.1f s", time.monotonic() - started)
    return findings


async def send_report(deps: Deps, findings: list[Finding], reason: str) -> None:
    owner = deps.settings.owner_chat_id
    if owner is not None:
        await deps.chat.send(owner, report(findings, reason, deps.settings.deployed_version))


async def run_and_report(deps: Deps, bot, reason: str) -> list[Finding]:
    """/selftest: run, log, and send the report to the owner."""
    findings = await run_and_log(deps, bot)
    await send_report(deps, findings, reason)
    return findings


async def first_start(deps: Deps, bot) -> None:
    """Once per deployed version: run, remember that it ran (on the workspace), report."""
    settings = deps.settings
    if settings.owner_chat_id is None:
        log.warning("SHIPIT_OWNER_CHAT_ID is not set: no first-start self-check report")
        return
    marker = marker_path(settings.workspace, settings.deployed_version)
    if marker.exists():
        return
    findings = await run_and_log(deps, bot)
    # Before sending: if Telegram itself is what's broken, the logs still hold the report and
    # the next start does not hammer it again.
    marker.parent.mkdir(parents=True, exist_ok=True)
    summary = {f.name: f.status.name for f in findings}
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": settings.deployed_version, "results": summary}))
    tmp.replace(marker)
    await send_report(deps, findings, render("selfcheck_reason_deploy"))


def start_in_background(app, deps: Deps, bot) -> asyncio.Task:
    """Run first_start without delaying the update that woke the runtime; /ping says busy."""
    task_id = app.add_async_task("first-start-self-check")

    async def run() -> None:
        try:
            await first_start(deps, bot)
        except Exception:
            log.exception("first-start self-check failed")
        finally:
            app.complete_async_task(task_id)

    return asyncio.create_task(run())
