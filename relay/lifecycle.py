"""The request lifecycle, a Lambda durable function: deliver, supervise, remind, expire.

One execution per Telegram update (the relay names it after the update):

1. **deliver**: the update goes to the chat's AgentCore session, with its key in the chat's
   inbox (how the agent restores Telegram's order when executions race: agent/inbox.py),
   retried with exponential backoff on throttling, cold-start errors (424), 5xx and
   connection failures. If every attempt fails,
   the lifecycle itself tells the requester through the Bot API, so no update is lost silently.
2. **supervise** (only when the agent answers `{"started": "request", "request_id": …}`): polling,
   not heartbeats. Every SHIPIT_SUPERVISE_POLL_S the execution wakes from a durable wait (which
   costs nothing while it waits) and asks the session for the request's status. Polling was
   chosen over a callback with heartbeats because the poll *is* the recovery: AgentCore starts
   a new session for an invocation when the old one died (recycled, idle, crashed), and the
   agent's start-up closes the dead request out honestly (agent/recovery.py), so the very next
   poll both notices the death and makes the agent report it, at most once. Heartbeats would
   need Lambda credentials inside the agent's container and still a poll to revive the session.
3. **preview**: when the request ends with a preview waiting, wait SHIPIT_REMIND_AFTER_S, ask the
   agent to remind (it does nothing if the preview was shipped, discarded or replaced), wait
   until SHIPIT_EXPIRE_AFTER_S, ask it to expire the preview (branch dropped, build kept).

Replay rules followed here: every call with a side effect or a clock is inside a named step,
names are deterministic (poll-0, poll-1, …), and nothing outside a step is mutated across
replays; the loop's state is rebuilt from step results.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request

from aws_durable_execution_sdk_python import DurableContext, StepError, durable_execution
from aws_durable_execution_sdk_python.config import Duration, StepConfig
from aws_durable_execution_sdk_python.retries import RetryStrategyConfig, create_retry_strategy

from relay import texts
from relay.settings import LifecycleSettings, lifecycle_from_env

log = logging.getLogger("shipit.lifecycle")

# AgentCore error codes worth another try: the session is starting, busy or throttled.
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ServiceQuotaExceededException",
        "RuntimeClientError",  # 424: the container did not start, or answered 5xx
        "InternalServerException",
        "ServiceUnavailableException",
        "RuntimeTimeout",
        "ConflictException",
    }
)
BACKOFF_FIRST_S, BACKOFF_MAX_S = 2, 60


class RuntimeBusy(Exception):
    """The runtime could not take the call now; another attempt may succeed."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class RuntimeRefused(Exception):
    """The runtime refused the call for good (bad ARN, no permission, bad payload)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# ---------------------------------------------------------------- pure decisions


def is_retryable(code: str, status: int) -> bool:
    """Whether an AgentCore error is worth a retry, from its code and HTTP status."""
    return code in RETRYABLE_CODES or status >= 500 or status == 429


def poll_count(settings: LifecycleSettings) -> int:
    """How many polls cover the longest a request may run (a session lives ≤ 8 h)."""
    return max(1, -(-settings.supervise_max_s // settings.supervise_poll_s))


def retry_config(attempts: int) -> StepConfig:
    strategy = create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=attempts,
            initial_delay=Duration.from_seconds(BACKOFF_FIRST_S),
            max_delay=Duration.from_seconds(BACKOFF_MAX_S),
            backoff_rate=2.0,
            retryable_error_types=[RuntimeBusy],
        )
    )
    return StepConfig(retry_strategy=strategy)


# ---------------------------------------------------------------- I/O: AgentCore and the Bot API

_client_lock = threading.Lock()
_client = None


def _agentcore():
    """boto3 here, unlike the relay: the lifecycle is not on Telegram's clock."""
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                import boto3
                from botocore.config import Config

                # One attempt per step: the step's own retry strategy owns backoff (durably).
                config = Config(
                    connect_timeout=5,
                    read_timeout=60,
                    retries={"max_attempts": 1, "mode": "standard"},
                )
                _client = boto3.session.Session().client("bedrock-agentcore", config=config)
    return _client


def call_runtime(settings: LifecycleSettings, session_id: str, payload: dict) -> dict:
    """InvokeAgentRuntime with `payload`; the agent's JSON answer, or RuntimeBusy/RuntimeRefused."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = _agentcore().invoke_agent_runtime(
            agentRuntimeArn=settings.agent_runtime_arn,
            runtimeSessionId=session_id,
            payload=json.dumps(payload).encode("utf-8"),
            contentType="application/json",
            accept="application/json",
        )
        stream = response["response"]
        try:
            body = stream.read()
        finally:
            stream.close()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if is_retryable(code, status):
            raise RuntimeBusy(code) from exc
        raise RuntimeRefused(code) from exc
    except BotoCoreError as exc:  # connection refused, timeouts: the session may be starting
        raise RuntimeBusy(type(exc).__name__) from exc
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        answer = {}
    return answer if isinstance(answer, dict) else {}


def tell(settings: LifecycleSettings, chat_id: int, template: str) -> bool:
    """Send one plain message through the Bot API (the agent could not). True when sent."""
    url = f"{settings.telegram_api_base.rstrip('/')}/bot{settings.resolve_bot_token()}/sendMessage"
    body = json.dumps({"chat_id": chat_id, "text": texts.text(template)}).encode()
    request = urllib.request.Request(
        url, data=body, headers={"content-type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return bool(json.loads(response.read()).get("ok"))
    except urllib.error.HTTPError as exc:
        if exc.code == 403:  # the requester blocked the bot: nobody to tell
            return False
        raise


# ---------------------------------------------------------------- the durable function


def _deliver(context: DurableContext, settings, session: str, name: str, payload: dict) -> dict:
    """One runtime call under the retry strategy; {"unreachable": code} when it never got through."""

    def call(_step) -> dict:
        return call_runtime(settings, session, payload)

    try:
        return context.step(call, name=name, config=retry_config(settings.deliver_attempts))
    except StepError as exc:
        return {"unreachable": str(exc) or "error"}


def _say(context: DurableContext, settings, chat: int, template: str, name: str) -> None:
    context.step(lambda _step: tell(settings, chat, template), name=name)


def supervise(
    context: DurableContext, settings, session: str, chat: int, request_id: str, prefix: str = ""
) -> dict:
    """Poll the request until it is no longer running; its last status."""
    call = {"lifecycle": {"op": "status", "chat_id": chat, "request_id": request_id}}
    for i in range(poll_count(settings)):
        wait = Duration.from_seconds(settings.supervise_poll_s)
        context.wait(wait, name=f"{prefix}poll-wait-{i}")
        status = _deliver(context, settings, session, f"{prefix}poll-{i}", call)
        if "unreachable" in status:
            return {"state": "unreachable"}
        if status.get("state") != "running":
            return status
    return {"state": "overdue"}


def preview_wait(context: DurableContext, settings, session: str, chat: int, preview_id: str):
    """Remind once, then expire; each call does nothing if the preview is gone."""
    later = settings.expire_after_s - settings.remind_after_s
    base = {"chat_id": chat, "preview_id": preview_id}
    remind = {"op": "remind", **base, "expires_in_s": later}
    expire = {"op": "expire", **base, "waited_s": settings.expire_after_s}
    context.wait(Duration.from_seconds(settings.remind_after_s), name="remind-wait")
    reminded = _deliver(context, settings, session, "remind", {"lifecycle": remind})
    if reminded.get("state") != "waiting":
        return {"outcome": "preview-settled", "at": "remind"}
    context.wait(Duration.from_seconds(later), name="expire-wait")
    expired = _deliver(context, settings, session, "expire", {"lifecycle": expire})
    settled = expired.get("state") == "expired"
    return {"outcome": "preview-expired" if settled else "preview-settled"}


def run(event: dict, context: DurableContext, settings: LifecycleSettings) -> dict:
    """The lifecycle of one update; a small summary dict as the execution's result."""
    update, chat, session = event["update"], event["chat_id"], event["session_id"]
    delivery = {"update": update} | (
        {"inbox_key": event["inbox_key"]} if "inbox_key" in event else {}
    )
    answer = _deliver(context, settings, session, "deliver", delivery)
    if "unreachable" in answer:
        _say(context, settings, chat, "lifecycle_unreachable", "tell-unreachable")
        return {"outcome": "unreachable"}
    if answer.get("started") != "request":
        return {"outcome": "delivered"}
    request_id = str(answer["request_id"])
    status = supervise(context, settings, session, chat, request_id)
    if status.get("state") == "lost":
        # The agent died before it even read the update: resume by delivering it once more.
        again = _deliver(context, settings, session, "redeliver", delivery)
        if again.get("started") == "request":
            status = supervise(context, settings, session, chat, request_id, prefix="again-")
        elif "unreachable" in again:
            status = {"state": "unreachable"}
    state = status.get("state")
    if state in ("unreachable", "overdue", "lost"):
        # The agent cannot say it (unreachable), or lost the request without closing it out.
        _say(context, settings, chat, "lifecycle_lost", "tell-lost")
        return {"outcome": state}
    if state == "waiting" and status.get("preview_id"):
        return preview_wait(context, settings, session, chat, str(status["preview_id"]))
    return {"outcome": state or "done"}


@durable_execution
def handler(event: dict, context: DurableContext) -> dict:
    """Lambda entry point (relay.lifecycle.handler); settings read once per invocation."""
    return run(event, context, lifecycle_from_env())
