"""The courtesy layer: which tool calls the agent may make, and a clear reason when not.

The OS box (agent/guard/box.py) is the wall; this policy refuses early and explains, so the model
changes course instead of hitting opaque permission errors.
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from agent.guard.bash import check_bash
from agent.guard.names import (
    GLOB_CHARS,
    LOCKFILES,
    PROTECTED_DIRS,
    PROTECTED_NAMES,
    is_secret,
)
from agent.repo_config import RepoConfig

Resolver = Callable[[str], str]

# Removed from the CLI (`disallowed_tools`), not merely left unapproved. Names as the bundled CLI
# 2.1.330 spells them, legacy aliases included; the hook denies any of them that slips through.
DISALLOWED_TOOLS: tuple[str, ...] = (
    # Sub-agents: a second agent is a second place for the policy to be wrong.
    "Agent",
    "Task",
    "ListAgents",
    "SubagentHandback",
    "ReportFindings",
    # The web: exfiltration and a door for prompt injection.
    "WebFetch",
    "WebSearch",
    # Schedulers, triggers and monitors run work outside this tool-call policy or after the run.
    "CronCreate",
    "CronDelete",
    "CronList",
    "ScheduleWakeup",
    "RemoteTrigger",
    "Monitor",
    "Workflow",
    # Shells and interpreters the Bash policy does not parse.
    "PowerShell",
    "REPL",
    # Changes the CLI's own settings, permission mode or working tree.
    "Config",
    "EnterPlanMode",
    "ExitPlanMode",
    "EnterWorktree",
    "ExitWorktree",
    # Skills and MCP resources pull instructions and files from outside the repo.
    "Skill",
    "ListMcpResourcesTool",
    "ReadMcpResourceTool",
    "ReadMcpResourceDirTool",
    "LSP",
    # Talking to people is Shipit's job (Telegram), never the model's.
    "AskUserQuestion",
    "SendMessage",
    "SendUserMessage",
    "SendUserFile",
    "PushNotification",
    "TeamCreate",
    "TeamDelete",
    "SendFeedback",
    "Artifact",
    "SetGoal",
)

WRITE_TOOLS = {"Write": "file_path", "Edit": "file_path", "MultiEdit": "file_path"}
WRITE_TOOLS["NotebookEdit"] = "notebook_path"
# Bookkeeping tools that touch no files and run nothing new (background output of an already
# allowed Bash command, stopping it, the todo list, the structured final answer).
HARMLESS_TOOLS = frozenset(
    {"TodoWrite", "TaskCreate", "TaskGet", "TaskList", "TaskUpdate", "TaskOutput", "BashOutput"}
    | {"TaskStop", "KillShell", "KillBash", "ToolSearch", "StructuredOutput"}
)

RG_SECRET_TYPES = frozenset({"sh", "all"})  # ripgrep's `sh` type lists .env and *.env


@dataclass(frozen=True)
class Decision:
    """Whether one tool call may run; a denial says, in plain words, what to do instead."""

    allowed: bool
    reason: str = ""


ALLOW = Decision(True)


@dataclass(frozen=True)
class Policy:
    """What the agent may touch in one target repo."""

    repo: Path  # absolute, symlinks resolved
    allowed_paths: tuple[str, ...] = ("src/", "tests/")  # repo-relative folders, "/"-terminated
    commands: tuple[str, ...] = ()  # the repo's own install/validate/build, allowed verbatim
    protected_paths: tuple[str, ...] = ()  # extra repo-relative globs ("dir/" for a folder)
    allow_lockfiles: bool = False
    secret_paths: tuple[Path, ...] = ()  # absolute files/folders never readable

    @classmethod
    def for_repo(
        cls,
        repo: Path,
        config: RepoConfig,
        secret_paths: tuple[Path, ...] = (),
        resolve: Resolver = os.path.realpath,
    ) -> Policy:
        """The policy for a checked-out repo and its `.shipit.toml`."""
        return cls(
            repo=Path(resolve(str(repo))),
            allowed_paths=config.allowed_paths,
            commands=config.commands,
            # Files the repo's own commands run (`node build.js`) are the checks themselves.
            protected_paths=config.protected_paths + _files_named_in(config.commands),
            allow_lockfiles=config.allow_lockfiles,
            secret_paths=tuple(Path(resolve(str(p))) for p in secret_paths),
        )


def decide(
    tool_name: str,
    tool_input: dict,
    policy: Policy,
    resolve: Resolver = os.path.realpath,
    cwd: str | None = None,
) -> Decision:
    """Decide one tool call. `cwd` is the session's current directory (the repo when unknown)."""
    try:
        return _decide(tool_name, tool_input, PathRules(policy, resolve), cwd or str(policy.repo))
    except (TypeError, ValueError, AttributeError) as exc:
        return Decision(False, f"Malformed {tool_name} call ({exc}); check the tool's arguments.")


def _decide(tool_name: str, tool_input: dict, rules: PathRules, here: str) -> Decision:
    policy = rules.policy
    if tool_name in WRITE_TOOLS:
        return _verdict(rules.write(_text(tool_input, WRITE_TOOLS[tool_name]), here))
    if tool_name in ("Read", "NotebookRead", "LS"):
        key = {"Read": "file_path", "NotebookRead": "notebook_path"}.get(tool_name, "path")
        return _verdict(rules.read(_text(tool_input, key), here, content=tool_name != "LS"))
    if tool_name == "Glob":
        return _verdict(_check_glob(tool_input, rules, here))
    if tool_name == "Grep":
        return _verdict(_check_grep(tool_input, rules, here))
    if tool_name == "Bash":
        return _verdict(check_bash(_text(tool_input, "command"), rules, policy.commands, here))
    if tool_name in HARMLESS_TOOLS:
        return ALLOW
    if tool_name in DISALLOWED_TOOLS:
        return Decision(False, f"{tool_name} is not available in Shipit; work with the repo only.")
    return Decision(
        False,
        f"{tool_name} is not a tool Shipit allows. Use Read, Write, Edit and Bash inside the repo.",
    )


class PathRules:
    """Write and read rules for one path; methods return a denial reason, or None when allowed."""

    def __init__(self, policy: Policy, resolve: Resolver) -> None:
        self.policy = policy
        self.repo = str(policy.repo)
        self.resolve = resolve
        self.allowed = ", ".join(policy.allowed_paths) or "(nowhere)"

    def write(self, path: str, cwd: str) -> str | None:
        """May the agent create, change or delete `path`?"""
        if GLOB_CHARS & set(path):
            return f"Name the file exactly: {path!r} contains * ? or [."
        located = self._locate(path, cwd)
        if isinstance(located, str):
            return f"{located} You may change files only under {self.allowed}."
        for rel in located:
            protected = self._protected(rel)
            if protected:
                return f"{path} is off limits: {protected}. Change files under {self.allowed}."
            if not self._in_allowed(rel):
                return (
                    f"{path} is outside the folders you may change ({self.allowed}). "
                    "If the request needs other files changed, say so in your summary and stop."
                )
        return None

    def read(self, path: str, cwd: str, content: bool = True) -> str | None:
        """May the agent read (content=True) or list/stat `path`? Globs are judged pessimistically."""
        if path == "/dev/null":
            return None
        if path.startswith("/proc") or path.startswith("/sys"):
            return "Process and system information (/proc, /sys) is off limits."
        static = _static_prefix(path)
        if static != path and ".." in path.split("/"):
            return f"{path}: a pattern may not contain ..; name the folder directly."
        located = self._locate(static or ".", cwd)
        if isinstance(located, str):
            return f"{located} Read files inside the repo only."
        for real in (posixpath.join(self.repo, rel) for rel in located):
            for secret in self.policy.secret_paths:
                if real == str(secret) or real.startswith(str(secret).rstrip("/") + "/"):
                    return f"{path} holds secrets and is off limits."
        if content:
            for rel in (*located, _repo_rel_lexical(path, cwd, self.repo)):
                if rel is not None and is_secret(rel):
                    return f"{path} may hold secrets (keys, .env) and is off limits."
        return None

    def search_filter(self, glob: str | None, file_type: str | None = None) -> str | None:
        """Why a ripgrep --glob/--type could pick secret files (rg lets them override its
        hidden-file and .gitignore rules), or None."""
        if file_type in RG_SECRET_TYPES:
            return f"The rg type {file_type!r} includes .env files; use another type or a glob."
        for token in str(glob or "").split():
            for alternative in _expand_braces(token.removeprefix("!")):
                if not token.startswith("!") and self.read(f"x/{alternative}", self.repo):
                    return f"The filter {token!r} could pick secret files (.env, keys)."
        return None

    def in_allowed_dir(self, path: str, cwd: str) -> bool:
        """Is `path` (a folder for a recursive search) inside the folders the agent may change?"""
        located = self._locate(path, cwd)
        return not isinstance(located, str) and all(self._in_allowed(r) for r in located)

    def _locate(self, path: str, cwd: str) -> tuple[str, str] | str:
        """(lexical, resolved) repo-relative forms of `path`, or why it is not in the repo."""
        if not isinstance(path, str) or not path.strip() or "\x00" in path:
            return "A non-empty path is needed."
        if path.startswith("~"):
            return f"{path} is outside the repo (~ is the home folder)."
        joined = posixpath.join(cwd, path)
        forms = []
        for absolute in (posixpath.normpath(joined), self.resolve(joined)):
            rel = posixpath.relpath(absolute, self.repo) if absolute.startswith("/") else ".."
            if rel == ".." or rel.startswith("../"):
                via = (
                    ""
                    if absolute == posixpath.normpath(joined)
                    else f" (it resolves to {absolute})"
                )
                return f"{path} is outside the repo {self.repo}{via}."
            forms.append(rel)
        return forms[0], forms[1]

    def _protected(self, rel: str) -> str | None:
        parts = rel.split("/")
        lowered = [p.casefold() for p in parts]
        hit = next((p for p in parts if p.casefold() in PROTECTED_DIRS), None)
        if hit:
            return f"{hit}/ is managed by Shipit or CI"
        name = lowered[-1]
        if any(fnmatchcase(name, n.casefold()) for n in PROTECTED_NAMES):
            return f"{parts[-1]} configures the build, the checks or the agent itself"
        if not self.policy.allow_lockfiles and name in {f.casefold() for f in LOCKFILES}:
            return f"{parts[-1]} is a lockfile and this repo does not allow changing lockfiles"
        for pattern in self.policy.protected_paths:
            pattern = pattern.removeprefix("./")
            if pattern.endswith("/"):
                if rel == pattern.rstrip("/") or rel.startswith(pattern):
                    return f"the repo protects {pattern}"
            elif fnmatchcase(rel, pattern) or (
                "/" not in pattern and fnmatchcase(parts[-1], pattern)
            ):
                return f"the repo protects {pattern}"
        return None

    def _in_allowed(self, rel: str) -> bool:
        dirs = [a.strip("/") for a in self.policy.allowed_paths if a.strip("/")]
        return any(rel == d or rel.startswith(d + "/") for d in dirs)


def _check_glob(tool_input: dict, rules: PathRules, cwd: str) -> str | None:
    base = tool_input.get("path") or cwd
    if not isinstance(base, str):
        raise TypeError("tool input 'path' must be a string")
    reason = rules.read(base, cwd, content=False)
    for pattern in _expand_braces(_text(tool_input, "pattern")):  # Glob lists names only
        if ".." in pattern.split("/") or pattern.startswith("~"):
            return "Glob patterns may not climb out of the repo; use a pattern inside it."
        reason = reason or rules.read(posixpath.join(base, pattern), cwd, content=False)
    return reason


def _check_grep(tool_input: dict, rules: PathRules, cwd: str) -> str | None:
    path = tool_input.get("path") or "."
    if not isinstance(path, str):
        raise TypeError("tool input 'path' must be a string")
    glob, file_type = tool_input.get("glob"), tool_input.get("type")
    reason = rules.read(path, cwd) or rules.search_filter(glob, file_type)
    # The CLI's Grep runs rg with --hidden: over a folder it reads .env unless git-ignored.
    narrowed = file_type or any(not g.startswith("!") for g in str(glob or "").split())
    looks_like_file = "." in posixpath.basename(path.rstrip("/")).lstrip(".")
    if reason is None and not (narrowed or looks_like_file or rules.in_allowed_dir(path, cwd)):
        reason = (
            f"Searching all of {path} would also read hidden files such as .env. Give a glob "
            f"(like '*.js') or a type, or search inside {rules.allowed}."
        )
    return reason


def _expand_braces(glob: str) -> list[str]:
    """`*.{js,env}` -> [`*.js`, `*.env`] (ripgrep globs know braces; fnmatch does not)."""
    match = re.search(r"\{([^{}]*)\}", glob)
    if not match:
        return [glob]
    head, tail = glob[: match.start()], glob[match.end() :]
    return [x for alt in match.group(1).split(",") for x in _expand_braces(head + alt + tail)]


def _static_prefix(path: str) -> str:
    """The part of a glob before its first wildcard component (`src/*.js` -> `src`)."""
    parts = path.split("/")
    for i, part in enumerate(parts):
        if GLOB_CHARS & set(part):
            return "/".join(parts[:i]) or ("/" if path.startswith("/") else "")
    return path


def _repo_rel_lexical(path: str, cwd: str, repo: str) -> str | None:
    # The secret-name check also looks at the glob itself, which _locate cut off.
    rel = posixpath.relpath(posixpath.normpath(posixpath.join(cwd, path)), repo)
    return None if rel.startswith("..") else rel


def _files_named_in(commands: tuple[str, ...]) -> tuple[str, ...]:
    files = []
    for command in commands:
        try:
            words = shlex.split(command)
        except ValueError:
            continue
        for word in words:
            word = word.removeprefix("./")
            name = word.rsplit("/", 1)[-1]
            if "." in name.strip(".") and not word.startswith(("-", "/")) and ".." not in word:
                files.append(word)
    return tuple(files)


def _text(tool_input: dict, key: str) -> str:
    value = tool_input.get(key) if isinstance(tool_input, dict) else None
    if not isinstance(value, str):
        raise TypeError(f"tool input {key!r} must be a string")
    return value


def _verdict(reason: str | None) -> Decision:
    return ALLOW if reason is None else Decision(False, reason)
