# Shipit agent container for Amazon Bedrock AgentCore Runtime (which runs linux/arm64).
# The base image is multi-arch, so the same file builds natively on amd64 for local use.
FROM python:3.13-slim-bookworm

# Must equal AGENT_UID / AGENT_GID in infra/config.py: the S3 Files access point runs every
# file operation on /mnt/workspace as this user (tests/infra checks that they match).
ARG SHIPIT_UID=10001
ARG SHIPIT_GID=10001

# git + ssh for the app repo; Node and npm for the target app's validation and build;
# bubblewrap + socat so the Claude Agent SDK's sandbox really isolates tool commands.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates git openssh-client nodejs npm bubblewrap socat \
    && rm -rf /var/lib/apt/lists/*

# uv installs exactly what uv.lock pins, with the image's own Python (never a download).
RUN pip install --no-cache-dir uv==0.13.9
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app
# Dependencies first, so editing the agent does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev
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
