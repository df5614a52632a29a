"""The target repo's Shipit config: `.shipit.toml` over what the repo's own files imply."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from agent.app_detect import INPUT_FILES, infer

CONFIG_FILE = ".shipit.toml"


class RepoConfigError(Exception):
    """The repo's `.shipit.toml` cannot be used."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{CONFIG_FILE} {key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class RepoConfig:
    """How to check, build and where the agent may write, for one target repo."""

    validate: str = "npm test"
    build: str = "npm run build"
    output: str = "dist"
    install: str = ""
    allowed_paths: tuple[str, ...] = ("src/", "tests/")
    # Extra repo-relative paths the agent must never write (on top of the built-in list).
    protected_paths: tuple[str, ...] = field(default_factory=tuple)
    allow_lockfiles: bool = False
    # Pages the preview pictures show when the change touches no page of its own.
    screenshot_pages: tuple[str, ...] = ()
    # Opt-in single-page-app fallback: unknown paths serve index.html (client-side routing).
    spa: bool = False
    # Plain words for what was worked out from the repo rather than read from .shipit.toml.
    inferred: tuple[str, ...] = ()

    @property
    def commands(self) -> tuple[str, ...]:
        """Commands the agent may run verbatim: the repo's own install, validation and build."""
        return tuple(c for c in (self.install, self.validate, self.build) if c)


def parse_repo_config(text: str, base: dict | None = None) -> RepoConfig:
    """Parse `.shipit.toml` text over `base` (inferred keys); unknown keys are rejected."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RepoConfigError("(file)", f"not valid TOML: {exc}") from exc
    known = set(RepoConfig.__dataclass_fields__) - {"inferred"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RepoConfigError(unknown[0], "unknown key")
    kwargs: dict = dict(base or {})
    for key in ("validate", "build", "output", "install"):
        if key in data:
            if not isinstance(data[key], str):
                raise RepoConfigError(key, "must be a string")
            kwargs[key] = data[key].strip()
    for key in ("allowed_paths", "protected_paths", "screenshot_pages"):
        if key in data:
            value = data[key]
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise RepoConfigError(key, "must be a list of non-empty strings")
            kwargs[key] = tuple(_normalise_dir(v) if key == "allowed_paths" else v for v in value)
    for key in ("allow_lockfiles", "spa"):
        if key in data:
            if not isinstance(data[key], bool):
                raise RepoConfigError(key, "must be true or false")
            kwargs[key] = data[key]
    config = RepoConfig(**kwargs)
    for page in config.screenshot_pages:
        if page.startswith("/") or ".." in Path(page).parts or "://" in page or "?" in page:
            raise RepoConfigError("screenshot_pages", f"{page!r} must be a page path in the app")
    if not config.output or config.output.startswith("/") or ".." in Path(config.output).parts:
        raise RepoConfigError("output", "must be a folder inside the repo")
    return config


def _normalise_dir(path: str) -> str:
    path = path.strip().removeprefix("./")
    if path.startswith("/") or ".." in Path(path).parts:
        raise RepoConfigError("allowed_paths", f"{path!r} must be a folder inside the repo")
    return path if path.endswith("/") else path + "/"


def read_detect_inputs(repo: Path) -> tuple[dict[str, str], set[str]]:
    """The few top-level files app detection reads, and the repo's top-level folder names."""
    files = {}
    for name in INPUT_FILES:
        path = repo / name
        # Empty files are skipped: the agent's sandbox leaves empty stub lockfiles in the tree.
        if path.is_file() and path.stat().st_size:
            # A binary lockfile (bun.lockb) only matters by its presence.
            files[name] = "" if name.endswith("b") else path.read_text(errors="replace")
    folders = {p.name for p in repo.iterdir() if p.is_dir() and not p.name.startswith(".")}
    return files, folders


def load_repo_config(repo: Path) -> RepoConfig:
    """What the repo's files imply, with every key `.shipit.toml` sets taking precedence."""
    inferred = infer(*read_detect_inputs(repo))
    path = repo / CONFIG_FILE
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    config = parse_repo_config(text, inferred.values)
    explicit = set(tomllib.loads(text)) if text else set()
    notes = tuple(note for key, note in inferred.notes.items() if key not in explicit)
    return replace(config, inferred=notes)
