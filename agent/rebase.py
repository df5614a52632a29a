"""When main moved after a preview: replay the preview's change on the new main, check and build
it again, and publish it as a new preview (approval stays tied to the build the requester saw).

No model involved: real git in the chat's clone, then the repo's own install, checks and build.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from agent.commands import CommandResult, describe_checks, release
from agent.context import Deps, blocking, new_build_id
from agent.hosting import HostingError
from agent.repo import RebaseConflictError
from agent.repo_config import RepoConfigError, load_repo_config
from agent.state import Preview

log = logging.getLogger(__name__)


@dataclass
class Clash:
    """The preview's change cannot sit on the new main as it is; `why` is for the requester."""

    why: str  # "conflict", "checks" or "build"
    detail: str = ""


async def replay(deps: Deps, chat_id: int, old: Preview, new_main: str) -> Preview | Clash:
    """The old preview's commits on `new_main`, checked, built and published under a new id."""
    repo = deps.repo_for(chat_id)
    build_id = new_build_id()
    branch = f"preview/{build_id}"
    await blocking(repo.start_branch, branch, old.commit)
    try:
        await blocking(repo.rebase, new_main)
    except RebaseConflictError as exc:
        log.info("preview %s clashes with main %s: %s", old.id, new_main, exc.output[-500:])
        return Clash("conflict")
    try:
        config = load_repo_config(repo.path)
    except RepoConfigError as exc:
        return Clash("build", f"the app's Shipit settings are broken: {exc}")
    if config.install:  # the new main's dependencies: network allowed, like a request's install
        result = await blocking(deps.run, config.install, repo.path, True)
        if not result.ok:
            return Clash("build", "installing the app's dependencies failed")
    checks = CommandResult("", 0, "no checks configured", 0.0)
    if config.validate:
        checks = await blocking(deps.run, config.validate, repo.path)
        if not checks.ok:
            return Clash("checks", describe_checks(checks))
    output, built = repo.path / config.output, None
    if config.build:  # like a request's build: in the box, the output kept on local disk
        built = await blocking(deps.run, config.build, repo.path, False, config.output)
        if not built.ok or built.artifact is None:
            log.error("build after rebase failed: %s", built.output[-2000:])
            release(built)
            return Clash("build", "the build step failed")
        output = built.artifact
    try:
        url = await blocking(deps.hosting.publish, build_id, output)
    except HostingError as exc:
        return Clash("build", f"publishing failed: {exc.problem}")
    finally:
        if built is not None:
            release(built)
    return Preview(
        id=build_id,
        branch=branch,
        commit=await blocking(repo.head),
        url=url,
        summary=old.summary,
        request=old.request,
        created_at=time.time(),
        checks=describe_checks(checks),
    )
