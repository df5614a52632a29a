"""Zero-config: work out install, checks, build and output from a repo's own files (pure).

`infer(files, folders)` looks only at what it is given (file name -> text for the few files that
matter, and the repo's top-level folder names), so it is tested without a disk. `.shipit.toml`
overrides any key it returns (agent/repo_config.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# Files whose text decides the answer (read by repo_config.read_detect_inputs).
INPUT_FILES = (
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "pnpm-lock.yaml",
    "yarn.lock",
    ".yarnrc.yml",
    "bun.lock",
    "bun.lockb",
    "vite.config.ts",
    "vite.config.js",
    "vite.config.mjs",
    "vite.config.mts",
    "next.config.js",
    "next.config.mjs",
    "next.config.ts",
    "angular.json",
)
# Folders the agent may edit when they exist: an app's code, static files and tests. Manifests,
# lockfiles and build config sit at the top level, outside all of these, so they stay off limits.
SOURCE_FOLDERS = (
    "src",
    "public",
    "static",
    "tests",
    "test",
    "__tests__",
    "e2e",
    "app",
    "pages",
    "components",
    "styles",
    "assets",
)
NPM_PLACEHOLDER_TEST = "no test specified"


@dataclass(frozen=True)
class Inferred:
    """RepoConfig keys worked out from the repo, and what to tell the requester about them."""

    values: dict
    notes: dict[str, str]  # config key -> plain words for the requester


def _package_manager(files: dict[str, str], has_deps: bool) -> tuple[str, str, str]:
    """(name, install command, how the lockfile was recognised)."""
    if "pnpm-lock.yaml" in files:
        return "pnpm", "pnpm install --frozen-lockfile", "pnpm-lock.yaml"
    if "yarn.lock" in files:
        berry = ".yarnrc.yml" in files or "__metadata:" in files["yarn.lock"]
        command = "yarn install --immutable" if berry else "yarn install --frozen-lockfile"
        return "yarn", command, "yarn.lock"
    if "bun.lock" in files or "bun.lockb" in files:
        return "bun", "bun install --frozen-lockfile", "bun.lock"
    for lock in ("package-lock.json", "npm-shrinkwrap.json"):
        if lock in files:
            return "npm", "npm ci", lock
    # No lockfile: installs are not reproducible, but the app still needs its packages.
    return "npm", "npm install" if has_deps else "", ""


def _run(manager: str, script: str) -> str:
    if manager == "npm":
        return "npm test" if script == "test" else f"npm run {script}"
    return f"{manager} run {script}"


def _framework(deps: dict, files: dict[str, str]) -> tuple[str, str]:
    """(framework name, its output folder by convention)."""
    vite_config = next((files[n] for n in files if n.startswith("vite.config.")), None)
    if "vite" in deps or vite_config is not None:
        out = re.search(r"outDir\s*:\s*['\"]([^'\"]+)['\"]", vite_config or "")
        return "Vite", out.group(1) if out else "dist"
    if "next" in deps:
        config = next((files[n] for n in files if n.startswith("next.config.")), "")
        dist = re.search(r"distDir\s*:\s*['\"]([^'\"]+)['\"]", config)
        return "Next.js (static export)", dist.group(1) if dist else "out"
    if "react-scripts" in deps:
        return "Create React App", "build"
    if "@angular/core" in deps:
        return "Angular", _angular_output(files.get("angular.json", ""))
    if "astro" in deps:
        return "Astro", "dist"
    if "@sveltejs/kit" in deps:
        return "SvelteKit (static)", "build"
    if "parcel" in deps:
        return "Parcel", "dist"
    return "", "dist"


def _angular_output(text: str) -> str:
    try:
        projects = json.loads(text)["projects"]
        name, project = next(iter(projects.items()))
        out = project["architect"]["build"]["options"].get("outputPath", f"dist/{name}")
    except (ValueError, KeyError, StopIteration, AttributeError, TypeError):
        return "dist"
    out = out.get("base", "dist") if isinstance(out, dict) else out
    return f"{out}/browser"


def infer(files: dict[str, str], folders: set[str]) -> Inferred:
    """What a repo's files say about installing, checking, building and where the build lands."""
    if "package.json" not in files:
        return Inferred({}, {})
    try:
        package = json.loads(files["package.json"])
    except ValueError:
        return Inferred({}, {})
    if not isinstance(package, dict):
        return Inferred({}, {})
    scripts = package.get("scripts") if isinstance(package.get("scripts"), dict) else {}
    deps = {
        **(package.get("dependencies") or {}),
        **(package.get("devDependencies") or {}),
    }
    manager, install, lockfile = _package_manager(files, bool(deps))
    framework, output = _framework(deps, files)

    has_test = "test" in scripts and NPM_PLACEHOLDER_TEST not in str(scripts["test"])
    build = _run(manager, "build") if "build" in scripts else ""
    if has_test:
        validate = _run(manager, "test")
    elif "lint" in scripts:
        validate = " && ".join(c for c in (_run(manager, "lint"), build) if c)
    else:
        validate = build
    allowed = tuple(f"{f}/" for f in SOURCE_FOLDERS if f in folders) or ("src/", "tests/")

    values = {
        "install": install,
        "validate": validate,
        "build": build,
        "output": output,
        "allowed_paths": allowed,
    }
    notes = {}
    if install:
        why = f" (from {lockfile})" if lockfile else " (there is no lockfile)"
        notes["install"] = f"install with “{install}”{why}"
    notes["validate"] = f"check with “{validate}”" if validate else "run no checks"
    if build:
        notes["build"] = f"build with “{build}”"
    where = f"where {framework} puts the build" if framework else "the usual place"
    notes["output"] = f"publish “{output}/” ({where})"
    notes["allowed_paths"] = "edit only " + ", ".join(allowed)
    return Inferred(values, notes)
