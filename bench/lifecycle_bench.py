"""The request lifecycle's speed, side by side: webhook → 200 with the runtime cold, the relay's
cold start against a plain boto3 relay making the same call, and the agent's cold path.

Usage: uv run python bench/lifecycle_bench.py [--requests 100] [--cold-starts 10] [--agent-runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script

import httpx  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from local import agentcore_emulator, apigw  # noqa: E402
from local.servers import serve_in_thread  # noqa: E402

RUNTIME = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/shipit-bench"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:shipit-lifecycle:live"
SECRET = "bench-secret"
USER = 4242
COLD_RUNTIME_S = 2.0  # every runtime call takes this long: an AgentCore cold start
HEADERS = {"x-telegram-bot-api-secret-token": SECRET, "content-type": "application/json"}


def update(update_id: int, text: str = "hello") -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": USER, "type": "private"},
            "from": {"id": USER, "is_bot": False, "first_name": "Ada"},
            "text": text,
        },
    }


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


# A fresh interpreter per run; the clock starts before the relay's imports (interpreter start-up
# is the same for both and is not the relay's to spend).
_OURS = """
import time; t = time.perf_counter()
import json, relay.handler as h
event = {"headers": {"x-telegram-bot-api-secret-token": "%(secret)s"}, "body": json.dumps(%(update)s)}
assert h.handler(event, None)["statusCode"] == 200
print((time.perf_counter() - t) * 1000)
"""
_PLAIN_BOTO3 = """
import time; t = time.perf_counter()
import hashlib, hmac, json, boto3
event = {"headers": {"x-telegram-bot-api-secret-token": "%(secret)s"}, "body": json.dumps(%(update)s)}
assert hmac.compare_digest(event["headers"]["x-telegram-bot-api-secret-token"], "%(secret)s")
update = json.loads(event["body"])
name = "u%%d-%%s" %% (update["update_id"], hashlib.sha256(event["body"].encode()).hexdigest()[:40])
client = boto3.session.Session().client("lambda")
client.invoke(FunctionName="%(function)s", InvocationType="Event", DurableExecutionName=name,
              Payload=json.dumps({"update": update, "chat_id": %(user)d}).encode())
print((time.perf_counter() - t) * 1000)
"""


def cold_start_ms(template: str, update_id: int, env: dict) -> float:
    code = template % {
        "secret": SECRET,
        "update": update(update_id),
        "function": FUNCTION,
        "user": USER,
    }
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return float(done.stdout.strip())


def relay_benchmarks(requests: int, cold_starts: int) -> list[tuple[str, str, str]]:
    """Webhook → 200 with a cold runtime behind, and the cold-start ratio."""

    async def slow_agent(request: Request) -> JSONResponse:
        await request.body()
        await asyncio.sleep(COLD_RUNTIME_S)
        return JSONResponse({"accepted": True})

    empty = Path(tempfile.mkdtemp()) / "none"
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(empty), "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "SHIPIT_WEBHOOK_SECRET": SECRET, "SHIPIT_ALLOWED_USER_IDS": str(USER),
            "SHIPIT_LIFECYCLE_FUNCTION_ARN": FUNCTION, "SHIPIT_AGENT_RUNTIME_ARN": RUNTIME,
        }
    )  # fmt: skip
    agent = serve_in_thread(Starlette(routes=[Route("/invocations", slow_agent, methods=["POST"])]))
    emulator = serve_in_thread(agentcore_emulator.create_app(agent.url, RUNTIME))
    os.environ["AWS_ENDPOINT_URL_BEDROCK_AGENTCORE"] = emulator.url
    # Its own process, as Lambda runs the lifecycle apart from the relay that starts it.
    host = subprocess.Popen(
        [sys.executable, "-m", "local.lambda_emulator", FUNCTION],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    os.environ["AWS_ENDPOINT_URL_LAMBDA"] = host.stdout.readline().strip()
    gateway = serve_in_thread(apigw.create_app())
    rows = []
    try:
        samples = []
        with httpx.Client(base_url=gateway.url) as client:
            # One warm-up: the relay's own cold start is measured on its own below.
            client.post("/telegram", content=json.dumps(update(999)).encode(), headers=HEADERS)
            for i in range(requests):
                body = json.dumps(update(1000 + i)).encode()
                t = time.perf_counter()
                response = client.post("/telegram", content=body, headers=HEADERS)
                samples.append((time.perf_counter() - t) * 1e3)
                assert response.status_code == 200, response.text
                assert response.json()["method"] == "sendChatAction"
        rows.append(
            (
                f"webhook → 200, runtime cold ({COLD_RUNTIME_S:.0f} s), p50",
                f"{pct(samples, 0.5):.1f} ms",
                "—",
            )
        )
        rows.append((f"webhook → 200, runtime cold, p99 (n={requests})", f"{pct(samples, 0.99):.1f} ms", "≤ 50 ms"))  # fmt: skip
        rows.append(("webhook → 200, runtime cold, max", f"{max(samples):.1f} ms", "—"))
        env = dict(os.environ)
        cold_start_ms(_OURS, 1, env)  # __pycache__ warmed for both, like a deployed zip's .pyc
        cold_start_ms(_PLAIN_BOTO3, 2, env)
        ours = [cold_start_ms(_OURS, 10 + i, env) for i in range(cold_starts)]
        plain = [cold_start_ms(_PLAIN_BOTO3, 100 + i, env) for i in range(cold_starts)]
        ratio = statistics.median(ours) / statistics.median(plain)
        rows.append(("relay cold start: import + first request, median", f"{statistics.median(ours):.0f} ms", "—"))  # fmt: skip
        rows.append(("plain boto3 relay, same call, median", f"{statistics.median(plain):.0f} ms", "—"))  # fmt: skip
        rows.append(("relay cold start ÷ plain boto3 relay", f"{ratio:.2f}×", "≤ 0.5×"))
    finally:
        gateway.stop()
        host.stdin.close()
        host.wait(30)
        emulator.stop()
        agent.stop()
    return rows


def agent_cold_path(runs: int) -> list[tuple[str, str, str]]:
    """Process start → first status card: the agent is dead when the message arrives."""
    from local.scripted_claude import say
    from local.stack import Stack, StackConfig

    root = Path(tempfile.mkdtemp(prefix="shipit-bench-"))
    stack = Stack(StackConfig(root=root, responder=lambda request: say("Done."))).start()
    chat = stack.config.allowed_user_ids[0]
    to_card = []
    try:
        client = stack.telegram.client()
        for i in range(runs):
            stack.agent.kill()
            request = f"make the title blue, take {i}"

            def card(messages, request=request):
                return [m for m in messages if m["from_bot"] and request in (m["text"] or "")]

            client.send_text(chat, request)
            client.wait_for(chat, card, timeout=60)
            to_card.append((time.monotonic() - stack.agent.started_at) * 1e3)

            # Let the request end before the next kill: /ping says Healthy once no task is open.
            deadline = time.monotonic() + 60
            while stack.agent.ping().get("status") != "Healthy":
                assert time.monotonic() < deadline, "the request never finished"
                time.sleep(0.05)
    finally:
        stack.stop()
    return [
        (f"agent: process start → first status card, median (n={runs})", f"{statistics.median(to_card):.0f} ms", "≤ 1500 ms"),
        ("agent: process start → first status card, worst", f"{max(to_card):.0f} ms", "—"),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--cold-starts", type=int, default=10)
    parser.add_argument("--agent-runs", type=int, default=3)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows = relay_benchmarks(args.requests, args.cold_starts) + agent_cold_path(args.agent_runs)
    # Timings on a shared machine mean little without how busy it was.
    load = f"{load_before:.1f} → {os.getloadavg()[0]:.1f}"
    rows.append((f"machine load (1-min average, {os.cpu_count()} CPUs), start → end", load, "—"))
    width = max(len(r[0]) for r in rows)
    print(f"{'measurement':<{width}}  {'value':>10}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>10}  {target}")


if __name__ == "__main__":
    main()
