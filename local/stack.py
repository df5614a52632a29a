"""The embedded default: the whole of Shipit on one machine, wired like it is on AWS.

Telegram emulator → API Gateway stand-in → the real relay handler → AgentCore emulator → the real
agent process (`python -m agent`) → the real `claude` CLI → local hosting and a bare git origin.
Tests build the same Stack with a scripted model; `python -m local` builds it with the demo model
(or real Claude when ANTHROPIC_API_KEY or Bedrock is configured).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from agent.commands import copy_tree, run_command
from agent.deps_cache import DepsCache
from agent.guard.env import command_env
from agent.hosting import LocalHosting
from agent.repo import Repo
from agent.repo_config import load_repo_config
from agent.shipping import baseline_build_id
from local import (
    agentcore_emulator,
    apigw,
    lambda_emulator,
    s3_standin,
    screenshot_service,
    site_server,
)
from local.agent_process import AGENT_START_COMMAND
from local.origin import REPO_ROOT, SAMPLE_APP, seed_origin
from local.scripted_claude import Responder, ScriptedClaude
from local.servers import ServerHandle, listening_socket, serve_in_thread, stop_process
from local.telegram_emulator import RunningEmulator, start_emulator
from local.telegram_poller import UpdatePoller

RUNTIME_ARN = "arn:aws:bedrock-agentcore:us-east-1:000000000000:runtime/shipit-local"
LIFECYCLE_ARN = "arn:aws:lambda:us-east-1:000000000000:function:shipit-lifecycle:live"
INBOX_BUCKET = "shipit-inbox-local"


@dataclass
class StackConfig:
    """Where the stack keeps its files, who may talk to it, and on which ports it listens."""

    root: Path
    sample_app: Path = SAMPLE_APP
    app_name: str = "pipe-offset"  # the origin repo's name, which the bot calls the app by
    token: str = "1000001:LOCAL-shipit-emulator-token"
    webhook_secret: str = "local-webhook-secret"
    allowed_user_ids: tuple[int, ...] = (1001,)
    ports: dict[str, int] = field(
        default_factory=dict
    )  # telegram, apigw, agentcore, site, agent, model
    responder: Responder | None = None  # a scripted model; None picks from the environment
    agent_env: dict[str, str] = field(default_factory=dict)  # extra settings for the agent
    telegram_options: dict = field(default_factory=dict)
    # A real Bot API (e.g. https://api.telegram.org): no emulator; updates are polled and
    # delivered to the local webhook (local/telegram_poller.py). None runs the emulator.
    telegram_api_base: str | None = None
    # The browser the screenshot service drives ("" finds Debian's chromium on PATH).
    chromium: str = ""
    # Dependency installs (agent/deps_cache.py); default <root>/cache. Not under /tmp: the
    # repo's commands run in a sandbox with a private /tmp, and must see the cached packages.
    cache_dir: Path | None = None
    # A warmed npm download cache, and whether installs may use only it (tests: no registry).
    npm_seed_cache: Path | None = None
    install_offline: bool = False
    # Lifecycle settings (relay/settings.py); locally the supervisor polls every few seconds.
    lifecycle_env: dict[str, str] = field(default_factory=lambda: {"SHIPIT_SUPERVISE_POLL_S": "3"})


class AgentProcess:
    """The agent app as a child process, started with the container's own command, serving on
    a socket this process bound and keeps (SHIPIT_AGENT_LISTEN_FD): restarts keep the port."""

    def __init__(self, env: dict[str, str], sock: socket.socket, log_path: Path) -> None:
        self.sock, self.port, self.log_path = sock, sock.getsockname()[1], log_path
        fd = str(sock.fileno())
        self.env = {**env, "SHIPIT_AGENT_PORT": str(self.port), "SHIPIT_AGENT_LISTEN_FD": fd}
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0  # time.monotonic() of the last start (bench/lifecycle_bench.py)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        command = [sys.executable, *AGENT_START_COMMAND[1:]]
        log = self.log_path.open("ab")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
            pass_fds=(self.sock.fileno(),),
        )
        deadline = time.monotonic() + timeout
        # Readiness: the app answers /ping once it serves; bounded by a deadline, not a sleep.
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"agent exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/ping", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"agent did not answer /ping within {timeout}s; see {self.log_path}")

    def ping(self) -> dict:
        return httpx.get(f"{self.url}/ping", timeout=5).json()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash or a recycled session ends it: no clean-up runs."""
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            stop_process(self.proc)

    def close(self) -> None:
        self.stop()
        self.sock.close()


class Stack:
    """Start, inspect and stop the embedded default."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.root = config.root
        self.origin = self.root / f"{config.app_name}.git"
        self.site_dir = self.root / "site"
        self.workspace = self.root / "workspace"
        self.model: ScriptedClaude | None = None
        self.model_label = ""
        self._servers: list[ServerHandle] = []
        self._saved_env: dict[str, str | None] = {}
        self.telegram: RunningEmulator | None = None
        self.poller: UpdatePoller | None = None
        self.agent: AgentProcess | None = None
        self.lifecycle: lambda_emulator.LifecycleHost | None = None
        self._revive_lock = threading.Lock()

    def port(self, name: str) -> int:
        return self.config.ports.get(name, 0)

    def start(self) -> Stack:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)
        seed_origin(self.origin, self.config.sample_app)
        self.site = self._serve(site_server.create_app(self.site_dir), "site")
        # The preview origin: its own port, so its own origin, like its own CloudFront domain.
        self.previews = self._serve(site_server.create_app(self.site_dir, "previews"), "previews")
        # Outside the agent's process and box, as the screenshot Lambda is on AWS.
        shots = screenshot_service.create_app(
            (self.site.url + "/", self.previews.url + "/"), binary=self.config.chromium
        )
        self.screenshots = self._serve(shots, "screenshots")
        # The chats' inbox (agent/inbox.py): the relay writes each update, the agent reads.
        inbox = s3_standin.create_app(INBOX_BUCKET)
        self.inbox, self.inbox_objects = self._serve(inbox, "inbox"), inbox.state.buckets
        self._put_main_live()
        model_env = self._model_env()
        if self.config.telegram_api_base is None:
            options = self.config.telegram_options
            self.telegram = start_emulator(self.config.token, port=self.port("telegram"), **options)
        # Up before the agent (it only calls the relay per request), so the agent can be told
        # the webhook URL its self-check expects Telegram to hold.
        self.apigw = self._serve(apigw.create_app(), "apigw")
        self.webhook_url = f"{self.apigw.url}/telegram"
        self.agent = AgentProcess(
            self._agent_env(model_env),
            listening_socket(self.port("agent")),
            self.root / "agent.log",
        )
        self.agent.start()
        self.agentcore = self._serve(
            agentcore_emulator.create_app(self.agent.url, RUNTIME_ARN, revive=self._revive_agent),
            "agentcore",
        )
        self._relay_env()
        self._start_lifecycle()
        secret = self.config.webhook_secret
        if self.telegram is None:
            self.poller = UpdatePoller(
                self.telegram_api, self.config.token, self.webhook_url, secret
            )
            self.poller.start()
        else:
            httpx.post(
                f"{self.telegram_api}/bot{self.config.token}/setWebhook",
                json={"url": self.webhook_url, "secret_token": secret},
                timeout=10,
            ).raise_for_status()
        return self

    def _put_main_live(self) -> None:
        """The app as it is before Shipit is live from the start, like an owner's real app.

        It is published under the id Shipit's first ship uses as its undo baseline, so the two
        are one build.
        """
        hosting = LocalHosting(self.site_dir, self.site.url)
        if hosting.live_build() is not None:
            return
        repo = Repo(path=self.root / "tmp" / "live-main", url=str(self.origin))
        main = repo.sync()
        repo.start_branch("live", main)
        config = load_repo_config(repo.path)
        home = self.root / "home"
        home.mkdir(parents=True, exist_ok=True)
        env = [f"{k}={v}" for k, v in command_env(str(home)).items()]

        def run(command: str, cwd: Path, network: bool = False):
            # The app's own main, built by the stack itself: no agent code is involved.
            argv = ["/usr/bin/env", "-i", *env, "/bin/sh", "-c", command]
            result = run_command(argv, command, cwd, 600)
            if not result.ok:
                raise RuntimeError(f"building the app failed: {result.output[-2000:]}")
            return result

        if config.install:
            packages = DepsCache(self.cache_dir / "deps", run, *self._install_source())
            if packages.handles(repo.path):
                packages.prepare(repo.path, config.install)
            else:
                run(config.install, repo.path)
        # Built in a copy whose node_modules links to the packages, as the agent's runner does:
        # tools write caches below node_modules, and those must never reach the shared cache.
        tree = self.root / "tmp" / "live-build"
        shutil.rmtree(tree, ignore_errors=True)
        copy_tree(repo.path, tree)
        if config.build:
            run(config.build, tree)
        build_id = baseline_build_id(main)
        if not hosting.has_build(build_id):
            hosting.publish(build_id, tree / config.output, config.spa)
        hosting.promote(build_id)
        shutil.rmtree(tree, ignore_errors=True)

    @property
    def cache_dir(self) -> Path:
        return self.config.cache_dir or self.root / "cache"

    def _install_source(self) -> tuple[Path | None, bool]:
        return self.config.npm_seed_cache, self.config.install_offline

    def _revive_agent(self) -> bool:
        """A dead agent is started again on the next invocation, as AgentCore starts a session;
        true when it had to be."""
        with self._revive_lock:
            if self.agent.alive:
                return False
            self.agent.start()
            return True

    def _start_lifecycle(self) -> None:
        """The real relay/lifecycle.py on the SDK's local runner (local/lambda_emulator.py)."""
        from relay import lifecycle

        self.lifecycle = lambda_emulator.start_lifecycle_host(LIFECYCLE_ARN, lifecycle.handler)
        values = {
            "AWS_ENDPOINT_URL_LAMBDA": self.lifecycle.url,
            "SHIPIT_LIFECYCLE_FUNCTION_ARN": LIFECYCLE_ARN,
            "SHIPIT_BOT_TOKEN": self.config.token,
            "SHIPIT_TELEGRAM_API_BASE": self.telegram_api,
            **self.config.lifecycle_env,
        }
        self._set_env(values)
        lifecycle._client = None  # a previous stack's AgentCore endpoint must not linger

    def restart_agent(self) -> None:
        """Stop the agent process and start a new one on the same port and workspace."""
        self.agent.stop()
        self.agent.start()

    def stop(self) -> None:
        if self.poller:
            self.poller.stop()
        if self.lifecycle:
            self.lifecycle.stop()
        if self.agent:
            self.agent.close()
        if self.telegram:
            self.telegram.stop()
        for server in reversed(self._servers):
            server.stop()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    @property
    def telegram_api(self) -> str:
        """The Bot API the agent talks to: the emulator, or the configured real one."""
        return self.telegram.url if self.telegram else self.config.telegram_api_base

    @property
    def chat_page(self) -> str | None:
        return f"{self.telegram.url}/" if self.telegram else None

    def _serve(self, app, name: str) -> ServerHandle:
        handle = serve_in_thread(app, port=self.port(name), name=name)
        self._servers.append(handle)
        return handle

    def _model_env(self) -> dict[str, str]:
        """Scripted model when given; else real Claude if configured; else the offline demo."""
        env = os.environ
        if self.config.responder is None and env.get("ANTHROPIC_API_KEY"):
            self.model_label = "Anthropic API"
            keys = ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_MODEL")
            return {k: env[k] for k in keys if env.get(k)}
        if self.config.responder is None and env.get("CLAUDE_CODE_USE_BEDROCK") == "1":
            self.model_label = "Amazon Bedrock"
            keys = ("CLAUDE_CODE_USE_BEDROCK", "AWS_REGION", "ANTHROPIC_MODEL", "AWS_PROFILE",
                    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                    "ANTHROPIC_BEDROCK_MANTLE_BASE_URL")  # fmt: skip
            return {k: env[k] for k in keys if env.get(k)}
        demo = self.config.responder is None
        if demo:
            from local.demo_model import respond

            responder = respond
            self.model_label = "offline demo model"
        else:
            responder = self.config.responder
            self.model_label = "scripted model"
        self.model = ScriptedClaude(responder)
        server = self._serve(self.model.app(), "model")
        return {
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "offline-scripted-model",
            "CLAUDE_CODE_MAX_RETRIES": "0",
            **({"SHIPIT_DEMO_MODEL": "1"} if demo else {}),
        }

    def _agent_env(self, model_env: dict[str, str]) -> dict[str, str]:
        base = {k: os.environ[k] for k in ("PATH", "LANG", "SYSTEMROOT") if k in os.environ}
        return {
            **base,
            "HOME": str(self.root / "home"),
            "TMPDIR": str(self.root / "tmp"),
            "PYTHONUNBUFFERED": "1",
            "SHIPIT_WORKSPACE": str(self.workspace),
            "SHIPIT_REPO_URL": str(self.origin),
            "SHIPIT_TELEGRAM_API_BASE": self.telegram_api,
            "SHIPIT_BOT_TOKEN": self.config.token,
            "SHIPIT_HOSTING": "local",
            "SHIPIT_SITE_DIR": str(self.site_dir),
            "SHIPIT_PUBLIC_URL": self.site.url,
            "SHIPIT_PREVIEW_URL": self.previews.url,
            "SHIPIT_CACHE_DIR": str(self.cache_dir),
            **(
                {"SHIPIT_NPM_SEED_CACHE": str(seed)} if (seed := self.config.npm_seed_cache) else {}
            ),
            **({"SHIPIT_INSTALL_OFFLINE": "1"} if self.config.install_offline else {}),
            "SHIPIT_STATUS_EDIT_INTERVAL_S": "0",
            "SHIPIT_SCREENSHOT_URL": self.screenshots.url,
            # With the emulator the stack registers this URL; polling real Telegram has none.
            **({"SHIPIT_WEBHOOK_URL": self.webhook_url} if self.telegram else {}),
            **self._inbox_env(model_env),
            **model_env,
            **self.config.agent_env,
        }

    def _inbox_env(self, model_env: dict[str, str]) -> dict[str, str]:
        # Dummy credentials only when the model's real ones are not there (they sign too).
        dummy = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
        return {
            "SHIPIT_INBOX_BUCKET": INBOX_BUCKET,
            "AWS_ENDPOINT_URL_S3": self.inbox.url,
            "AWS_DEFAULT_REGION": model_env.get("AWS_REGION", "us-east-1"),
            **({} if "AWS_ACCESS_KEY_ID" in model_env else dummy),
        }

    def _relay_env(self) -> None:
        """The relay runs in this process (behind the API Gateway stand-in): give it its settings."""
        from relay import handler, settings

        values = {
            "SHIPIT_WEBHOOK_SECRET": self.config.webhook_secret,
            "SHIPIT_ALLOWED_USER_IDS": ",".join(map(str, self.config.allowed_user_ids)),
            "SHIPIT_AGENT_RUNTIME_ARN": RUNTIME_ARN,  # read by the lifecycle
            "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE": self.agentcore.url,
            "AWS_ENDPOINT_URL_S3": self.inbox.url,
            "SHIPIT_INBOX_BUCKET": INBOX_BUCKET,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        }
        self._set_env(values)
        settings.reset_cache()
        handler._reset_for_tests()

    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
