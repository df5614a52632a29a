"""Zero-config: what Shipit works out from an app's files, and .shipit.toml winning key by key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent.app_detect import infer
from agent.repo_config import load_repo_config

REPO_ROOT = Path(__file__).resolve().parents[2]
VITE_TEMPLATE = {
    "scripts": {"dev": "vite", "build": "tsc -b && vite build", "lint": "oxlint"},
    "devDependencies": {"vite": "^8.3.4", "typescript": "~7.0.2"},
}


def pkg(data: dict) -> str:
    return json.dumps(data)


def test_stock_vite_template_lints_and_builds_as_its_checks() -> None:
    files = {"package.json": pkg(VITE_TEMPLATE), "package-lock.json": "{}"}
    got = infer(files, {"src", "public", "node_modules"})
    assert got.values == {
        "install": "npm ci",
        "validate": "npm run lint && npm run build",
        "build": "npm run build",
        "output": "dist",
        "allowed_paths": ("src/", "public/"),
    }
    assert got.notes["install"] == "install with “npm ci” (from package-lock.json)"
    assert "Vite" in got.notes["output"]


@pytest.mark.parametrize(
    ("lockfiles", "install", "run_test"),
    [
        (
            {"pnpm-lock.yaml": "lockfileVersion: '9.0'"},
            "pnpm install --frozen-lockfile",
            "pnpm run test",
        ),
        ({"yarn.lock": "__metadata:\n  version: 8"}, "yarn install --immutable", "yarn run test"),
        ({"yarn.lock": "# yarn lockfile v1"}, "yarn install --frozen-lockfile", "yarn run test"),
        ({"npm-shrinkwrap.json": "{}"}, "npm ci", "npm test"),
        ({}, "npm install", "npm test"),  # no lockfile: still needs its packages
    ],
)
def test_lockfile_picks_the_package_manager(lockfiles, install: str, run_test: str) -> None:
    data = {"scripts": {"test": "vitest run", "build": "vite build"}, "dependencies": {"a": "1"}}
    got = infer({"package.json": pkg(data), **lockfiles}, {"src"})
    assert (got.values["install"], got.values["validate"]) == (install, run_test)


def test_frameworks_say_where_the_build_lands() -> None:
    def output(deps: dict, **files: str) -> str:
        data = {"scripts": {"build": "x"}, "dependencies": deps}
        return infer({"package.json": pkg(data), **files}, set()).values["output"]

    assert output({"react-scripts": "5"}) == "build"
    assert output({"next": "15"}) == "out"
    assert output({"astro": "5"}) == "dist"
    assert output({"vite": "8"}, **{"vite.config.ts": "build: { outDir: 'www' }"}) == "www"
    angular = {"projects": {"crew": {"architect": {"build": {"options": {}}}}}}
    assert output({"@angular/core": "19"}, **{"angular.json": json.dumps(angular)}) == (
        "dist/crew/browser"
    )


def test_npm_placeholder_test_script_is_not_a_check() -> None:
    data = {"scripts": {"test": 'echo "Error: no test specified" && exit 1', "build": "b"}}
    assert infer({"package.json": pkg(data)}, set()).values["validate"] == "npm run build"


def test_no_package_json_means_no_inference() -> None:
    assert infer({}, {"src"}).values == {}
    assert infer({"package.json": "not json"}, set()).values == {}


def test_the_vite_example_needs_no_config(tmp_path: Path) -> None:
    app = REPO_ROOT / "examples" / "vite-pwa"
    assert not (app / ".shipit.toml").exists()
    config = load_repo_config(app)
    assert (config.install, config.validate, config.build, config.output) == (
        "npm ci",
        "npm test",
        "npm run build",
        "dist",
    )
    # The agent may edit code, static files and tests, never the manifest, lockfile or config.
    assert config.allowed_paths == ("src/", "public/", "tests/")
    assert not config.spa
    assert any("npm ci" in note for note in config.inferred)


def test_shipit_toml_overrides_key_by_key(tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(
        REPO_ROOT / "examples" / "vite-pwa",
        app,
        ignore=shutil.ignore_patterns("node_modules", "dist"),
    )
    (app / ".shipit.toml").write_text('validate = "npm run lint"\nspa = true\n')
    config = load_repo_config(app)
    assert config.validate == "npm run lint" and config.spa
    assert config.install == "npm ci"  # still inferred
    assert not any("check with" in note for note in config.inferred)
    assert any("install with" in note for note in config.inferred)


def test_empty_stub_lockfiles_do_not_change_the_package_manager(tmp_path: Path) -> None:
    # The agent's sandbox leaves empty lockfile stubs in the tree.
    (tmp_path / "package.json").write_text(pkg(VITE_TEMPLATE))
    (tmp_path / "package-lock.json").write_text("{}")
    (tmp_path / "pnpm-lock.yaml").write_text("")
    (tmp_path / "yarn.lock").write_text("")
    assert load_repo_config(tmp_path).install == "npm ci"
