"""The target repo's own Shipit config (`.shipit.toml`), parsed with sensible defaults."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

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

    @property
    def commands(self) -> tuple[str, ...]:
        """Commands the agent may run verbatim: the repo's own install, validation and build."""
        return tuple(c for c in (self.install, self.validate, self.build) if c)


def parse_repo_config(text: str) -> RepoConfig:
    """Parse `.shipit.toml` text; unknown keys are rejected so typos do not pass silently."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RepoConfigError("(file)", f"not valid TOML: {exc}") from exc
    known = set(RepoConfig.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise RepoConfigError(unknown[0], "unknown key")
    kwargs: dict = {}
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
    if "allow_lockfiles" in data:
        if not isinstance(data["allow_lockfiles"], bool):
            raise RepoConfigError("allow_lockfiles", "must be true or false")
        kwargs["allow_lockfiles"] = data["allow_lockfiles"]
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


def load_repo_config(repo: Path) -> RepoConfig:
    """Read the repo's config file, or the defaults when it has none."""
    path = repo / CONFIG_FILE
    if not path.exists():
        return RepoConfig()
    return parse_repo_config(path.read_text(encoding="utf-8"))
