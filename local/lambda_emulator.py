"""A local Lambda endpoint for the durable lifecycle, in front of the SDK's own local runner.

The durable-execution side is not ours: `aws-durable-execution-sdk-python-testing`'s WebRunner
(the server behind `dex-local-runner`) keeps executions, checkpoints, waits and callbacks, and
drives each execution by invoking the handler at a Lambda endpoint. That runner has no Lambda
Invoke API for callers, and does not treat the execution name as an idempotency key, so this
module adds exactly those two things Lambda does in AWS:

- `POST /2015-03-31/functions/{qualified ARN}/invocations` from a caller (the relay): an Event
  invoke with `X-Amz-Durable-Execution-Name` starts an execution on the runner; the same name with
  the same payload returns the existing execution, a different payload is a 409
  `DurableExecutionAlreadyStartedException`; an unqualified ARN is refused as Lambda refuses it.
- the same route from the runner (marked `X-Dex-Handler-Invoke`): runs the real handler,
  relay.lifecycle.handler, in a worker thread, as Lambda runs the function.
- every other path (`/2025-12-01/durable-executions/…`, callbacks): forwarded to the runner, so
  one `AWS_ENDPOINT_URL_LAMBDA` serves the relay and the SDK's checkpoint client alike.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from local.apigw import LambdaContext

log = logging.getLogger("shipit.local.lambda")

MARKER_HEADER = "x-dex-handler-invoke"  # aws_durable_execution_sdk_python_testing.invoker
NAME_HEADER = "x-amz-durable-execution-name"
ARN_HEADER = "X-Amz-Durable-Execution-Arn"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"Type": "User", "message": message}, status, headers={"x-amzn-ErrorType": code}
    )


@dataclass
class Started:
    name: str
    payload: bytes
    arn: str


@dataclass
class LambdaEmulator:
    """State the endpoint keeps: the function it hosts and the executions it started by name."""

    function_arn: str  # qualified: ...:function:<name>:<alias>
    handler: Callable[[Any, Any], Any]
    runner_url: str = ""  # set once the runner listens (it needs our URL first)
    execution_timeout_s: int = 30 * 86400
    retention_days: int = 14
    started: dict[str, Started] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def executions(self) -> list[Started]:
        with self._lock:
            return list(self.started.values())


def _qualifier(function: str) -> tuple[str, str] | None:
    """(account:function:name, qualifier) of a qualified Lambda ARN, else None."""
    parts = function.split(":")
    if len(parts) == 8 and parts[5] == "function" and parts[7]:
        return ":".join(parts[:7]), parts[7]
    return None


def create_app(emulator: LambdaEmulator) -> Starlette:
    client = httpx.Client(timeout=httpx.Timeout(120.0, connect=5.0))
    # Handlers get their own threads, as each Lambda invocation gets its own sandbox: a handler
    # blocked on a slow runtime call must not hold up the relay's Invoke or the checkpoints.
    handlers = ThreadPoolExecutor(max_workers=64, thread_name_prefix="lifecycle")
    forwarding: list[httpx.AsyncClient] = []

    def async_client() -> httpx.AsyncClient:
        # Made on first use inside the serving loop, and kept: one per app.
        if not forwarding:
            forwarding.append(httpx.AsyncClient(timeout=httpx.Timeout(120.0, connect=5.0)))
        return forwarding[0]

    def start(function: str, name: str, payload: bytes) -> Response:
        unqualified, qualifier = _qualifier(function) or ("", "")
        if function != emulator.function_arn:
            return _error(404, "ResourceNotFoundException", f"Function not found: {function}")
        with emulator._lock:
            known = emulator.started.get(name)
            if known is not None:
                if known.payload != payload:
                    return _error(
                        409,
                        "DurableExecutionAlreadyStartedException",
                        f"Durable execution {name} was started with a different payload",
                    )
                return Response(status_code=202, headers={ARN_HEADER: known.arn})
            body = {
                "AccountId": unqualified.split(":")[4],
                "FunctionName": function,
                "FunctionQualifier": qualifier,
                "ExecutionName": name,
                "ExecutionTimeoutSeconds": emulator.execution_timeout_s,
                "ExecutionRetentionPeriodDays": emulator.retention_days,
                "Input": payload.decode("utf-8"),
            }
            answer = client.post(f"{emulator.runner_url}/start-durable-execution", json=body)
            answer.raise_for_status()
            arn = answer.json()["ExecutionArn"]
            emulator.started[name] = Started(name, payload, arn)
        return Response(status_code=202, headers={ARN_HEADER: arn})

    async def invoke(request: Request) -> Response:
        function = request.path_params["function"]
        payload = await request.body()
        if request.headers.get(MARKER_HEADER):
            # The runner driving an execution: run the real handler, as Lambda would.
            event = json.loads(payload)
            context = LambdaContext(
                function_name=function.split(":")[6] if _qualifier(function) else function,
                invoked_function_arn=function,
                timeout_ms=900_000,
            )
            try:
                loop = asyncio.get_running_loop()
                result = await loop.run_in_executor(handlers, emulator.handler, event, context)
            except Exception as exc:  # Lambda reports an unhandled error as a function error
                log.exception("lifecycle handler raised")
                body = {"errorMessage": str(exc), "errorType": type(exc).__name__}
                return JSONResponse(body, 200, headers={"X-Amz-Function-Error": "Unhandled"})
            return JSONResponse(result, 200)
        if _qualifier(function) is None:
            return _error(
                400,
                "InvalidParameterValueException",
                "A durable function must be invoked with a qualified ARN (version or alias)",
            )
        name = request.headers.get(NAME_HEADER)
        if request.headers.get("x-amz-invocation-type") != "Event" or not name:
            return _error(
                400,
                "InvalidParameterValueException",
                "Shipit starts the lifecycle with an Event invoke and a durable execution name",
            )
        return await run_in_threadpool(start, function, name, payload)

    async def forward(request: Request) -> Response:
        # The durable-execution APIs (checkpoint, state, history, callbacks) live on the runner.
        # Still percent-encoded: execution ARNs hold "/" that must stay inside one segment.
        raw = request.scope.get("raw_path") or request.url.path.encode()
        url = f"{emulator.runner_url}{raw.decode('latin-1')}"
        headers = {"content-type": request.headers.get("content-type", "application/json")}
        body = await request.body()
        answer = await async_client().request(
            request.method, url, params=dict(request.query_params), content=body, headers=headers
        )
        keep = {k: v for k, v in answer.headers.items() if k.lower().startswith("x-amz")}
        return Response(answer.content, answer.status_code, headers=keep,
                        media_type=answer.headers.get("content-type"))  # fmt: skip

    async def list_started(request: Request) -> Response:
        rows = [{"name": s.name, "arn": s.arn} for s in emulator.executions()]
        return JSONResponse({"executions": rows})

    app = Starlette(
        routes=[
            Route("/2015-03-31/functions/{function:path}/invocations", invoke, methods=["POST"]),
            Route("/_emulator/executions", list_started, methods=["GET"]),
            Route("/{rest:path}", forward, methods=["GET", "POST", "PUT", "DELETE"]),
        ]
    )
    app.state.emulator = emulator
    return app


@dataclass
class LifecycleHost:
    """The Lambda endpoint and the SDK's local runner, serving together on loopback ports."""

    url: str  # AWS_ENDPOINT_URL_LAMBDA
    emulator: LambdaEmulator
    runner: Any
    handle: Any
    thread: threading.Thread

    def stop(self) -> None:
        server = self.runner._server  # WebRunner.stop closes the socket but never stops the loop
        if server is not None:
            server.shutdown()
        self.runner.stop()
        self.thread.join(5)
        self.handle.stop()


def start_lifecycle_host(
    function_arn: str, handler: Callable[[Any, Any], Any], *, region: str = "us-east-1"
) -> LifecycleHost:
    """Serve `handler` as the durable function `function_arn`; waits run in real time.

    AWS credentials (any values) and the region must be in the environment: the runner signs
    its Invoke calls like any boto3 client.
    """
    import boto3
    from aws_durable_execution_sdk_python.lambda_service import LambdaClient
    from aws_durable_execution_sdk_python_testing.runner import WebRunner, WebRunnerConfig
    from aws_durable_execution_sdk_python_testing.web.server import WebServiceConfig

    from local.servers import serve_in_thread

    emulator = LambdaEmulator(function_arn, handler)
    handle = serve_in_thread(create_app(emulator), name="lambda")
    # The SDK caches one checkpoint client per process: point it here explicitly, so it can
    # never reach a real endpoint whatever the environment says.
    LambdaClient._cached_boto_client = boto3.session.Session().client(
        "lambda", endpoint_url=handle.url, region_name=region
    )
    config = WebRunnerConfig(
        web_service=WebServiceConfig(host="127.0.0.1", port=0, log_level=logging.WARNING),
        lambda_endpoint=handle.url,
        local_runner_region=region,
    )
    runner = WebRunner(config)
    runner.start()
    port = runner._server.server_address[1]  # bound to port 0: read the real one back
    thread = threading.Thread(target=runner.serve_forever, name="dex-local-runner", daemon=True)
    thread.start()
    emulator.runner_url = f"http://127.0.0.1:{port}"
    return LifecycleHost(handle.url, emulator, runner, handle, thread)


def main() -> None:
    """`python -m local.lambda_emulator FUNCTION_ARN`: serve relay/lifecycle.py in its own process.

    Prints the endpoint URL on one line, then serves until stdin closes (so a parent that dies
    takes it along). Lambda runs the function apart from its caller; so does this.
    """
    import sys

    from relay import lifecycle

    logging.basicConfig(level=logging.WARNING)
    host = start_lifecycle_host(sys.argv[1], lifecycle.handler)
    print(host.url, flush=True)
    try:
        sys.stdin.read()
    finally:
        host.stop()


if __name__ == "__main__":
    main()
