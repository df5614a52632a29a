# Shipit agent container for Amazon Bedrock AgentCore Runtime (which runs linux/arm64).
# The base images are multi-arch, so the same file builds natively on amd64 for local use.
# AgentCore refuses images over 1 GB: tests/infra/test_image.py adds up what each stage below
# installs and fails above 900 MB, so keep package-manager caches out of every layer.

# Node.js from the official image (a maintained LTS line; Debian bookworm's 18 is end of life).
# Its major must equal .node-version, which CI installs too (tests/infra checks both).
FROM node:24-bookworm-slim AS node

# Python dependencies exactly as uv.lock pins them, built in a stage of their own so neither uv
# nor any cache reaches the final image.
FROM python:3.13-slim-bookworm AS python-deps
RUN pip install --no-cache-dir uv==0.13.9
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-cache

FROM python:3.13-slim-bookworm

# Must equal AGENT_UID / AGENT_GID in infra/config.py: the S3 Files access point runs every
# file operation on /mnt/workspace as this user (tests/infra checks that they match).
ARG SHIPIT_UID=10001
ARG SHIPIT_GID=10001

# git + ssh for the app repo; bubblewrap + socat for the OS sandbox around the agent and the
# repo's commands; libstdc++6 for the Node binary. A setuid-root copy of bwrap serves hosts
# without unprivileged user namespaces (the sandbox probe tries the plain one first).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates git openssh-client bubblewrap socat libstdc++6 \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -m 0755 /usr/local/libexec/shipit \
    && install -m 4755 -o root -g root /usr/bin/bwrap /usr/local/libexec/shipit/bwrap-suid

COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
    && node --version && npm --version

WORKDIR /app
# Dependencies first, so editing the agent does not reinstall them.
COPY --from=python-deps /app/.venv /app/.venv
COPY agent/ agent/
COPY prompts/ prompts/

RUN groupadd --gid "${SHIPIT_GID}" shipit \
    && useradd --uid "${SHIPIT_UID}" --gid "${SHIPIT_GID}" --create-home --shell /usr/sbin/nologin shipit

# DOCKER_CONTAINER makes the AgentCore app bind 0.0.0.0 instead of 127.0.0.1.
ENV DOCKER_CONTAINER=1 \
    PATH=/app/.venv/bin:$PATH \
    HOME=/home/shipit \
    PYTHONUNBUFFERED=1

USER ${SHIPIT_UID}:${SHIPIT_GID}
EXPOSE 8080
# The same command the local stack runs (local/agent_process.py AGENT_START_COMMAND).
CMD ["python", "-m", "agent"]
