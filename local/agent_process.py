"""Start the agent app as its own process, with the very command the container runs."""

from __future__ import annotations

# The Dockerfile's CMD must equal this (tests/infra checks it): one start command everywhere.
AGENT_START_COMMAND = ["python", "-m", "agent"]
