"""One list of what is secret and what is protected: the policy, the box and the checks share it."""

from __future__ import annotations

from fnmatch import fnmatchcase

from agent.repo_config import CONFIG_FILE

GLOB_CHARS = frozenset("*?[")

# Never writable, at any depth: git internals, CI, Claude/Shipit config and the domain rules,
# package manifests, and the config of the tools that validate the work (editing those makes a
# failing check pass instead of fixing the code).
PROTECTED_DIRS = frozenset(
    {".git", ".github", ".gitlab", ".circleci", ".buildkite", ".husky", ".claude", "node_modules"}
)
PROTECTED_NAMES = (
    CONFIG_FILE, "CLAUDE.md", "CLAUDE.local.md", "AGENTS.md", ".mcp.json",
    ".gitattributes", ".gitmodules", ".gitignore", ".gitlab-ci.yml", ".travis.yml",
    "azure-pipelines.yml", "bitbucket-pipelines.yml", "Jenkinsfile", ".drone.yml",
    "package.json", ".npmrc", ".yarnrc", ".yarnrc.yml", ".pnpmfile.cjs", "bunfig.toml",
    "deno.json", "deno.jsonc", "Makefile", "makefile", "GNUmakefile", "pyproject.toml",
    "setup.cfg", "setup.py", "tox.ini", "pytest.ini", "conftest.py", "noxfile.py",
    "requirements*.txt", "Pipfile", "Cargo.toml", "go.mod", "jest.config.*", "vitest.config.*",
    "vitest.workspace.*", "vite.config.*", ".mocharc*", "karma.conf.*", "playwright.config.*",
    "cypress.config.*", "ava.config.*", ".c8rc*", ".nycrc*", "tsconfig*.json", "jsconfig.json",
    "babel.config.*", ".babelrc*", ".eslintrc*", "eslint.config.*", ".prettierrc*",
    "prettier.config.*", ".stylelintrc*", "stylelint.config.*",
)  # fmt: skip
LOCKFILES = (
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lock",
    "bun.lockb", "poetry.lock", "uv.lock", "Pipfile.lock", "Cargo.lock", "Gemfile.lock",
    "composer.lock", "go.sum",
)  # fmt: skip

# Never readable inside the repo (outside it nothing is). Names, plus example names that a glob
# is tested against: `cat .e*` or `cat src/*` could expand to one of them.
SECRET_DIRS = frozenset({".ssh", ".aws", ".gnupg", ".docker", ".kube", ".azure", ".gcloud"})
SECRET_NAMES = (
    ".env", ".env.*", "*.pem", "*.key", "*.p12", "*.pfx", "*.keystore", "id_rsa*", "id_dsa*",
    "id_ecdsa*", "id_ed25519*", ".netrc", ".npmrc", ".pypirc", ".git-credentials", ".htpasswd",
    "credentials", "credentials.json", "deploy_key*", "*.crt", "*.cer", "*.der", "*.jks",
    "*.kdbx", "*.ovpn", "*.tfvars", ".yarnrc", ".yarnrc.yml", "auth.json", ".secrets*",
    "secrets.*", "service-account*.json", "*.gpg", "*.asc",
)  # fmt: skip
SECRET_EXAMPLES = (".env", ".env.local", "id_rsa", "id_ed25519", "server.key", "cert.pem")
SECRET_EXAMPLES += (".npmrc", ".netrc", ".git-credentials", "credentials", "deploy_key")

NOT_SECRET = frozenset({".env.example", ".env.sample", ".env.template", ".env.dist"})


def is_secret(rel: str) -> bool:
    """Is a repo-relative path (or glob) secret-shaped: keys, certificates, .env, tokens?"""
    parts = [p.casefold() for p in rel.split("/")]
    if any(p in SECRET_DIRS for p in parts) or parts[-2:] == [".git", "config"]:
        return True
    for i, part in enumerate(parts):
        if GLOB_CHARS & set(part):  # a wildcard file name is judged by what it could match
            if i == len(parts) - 1 and any(fnmatchcase(ex, part) for ex in SECRET_EXAMPLES):
                return True
        elif part not in NOT_SECRET and any(fnmatchcase(part, n.casefold()) for n in SECRET_NAMES):
            return True
    return False
