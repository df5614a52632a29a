"""Relay timings: cold import of relay.handler, and a good update through the local stack."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script (`uv run python bench/relay_bench.py`)

import httpx  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from local import agentcore_emulator, apigw  # noqa: E402
from local.servers import serve_in_thread  # noqa: E402

IMPORT_RUNS = 10
REQUESTS = 100
ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/shipit-bench"
SECRET = "bench-secret"
USER = 4242

_IMPORT_PROBE = (
    "import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1000)"
)


def import_ms(module: str) -> float:
    """Import time of `module` in a fresh interpreter (bytecode already cached on disk)."""
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE.format(module=module)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def update(update_id: int) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": USER, "type": "private"},
            "from": {"id": USER, "is_bot": False, "first_name": "Ada"},
            "text": "make the offset field bigger",
        },
    }


def stats(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (
        f"{label:<44} {len(samples):>4} {ordered[0]:>9.2f} "
        f"{statistics.median(ordered):>9.2f} {p95:>9.2f}"
    )


def main() -> None:
    rows = []
    import_ms("relay.handler")  # populate __pycache__ so every measured run sees the same disk
    for module in ("boto3", "relay.handler"):
        rows.append(stats(f"cold import {module} (ms)", [import_ms(module) for _ in range(10)]))

    async def invocations(request):
        await request.body()
        return JSONResponse({"accepted": True})

    agent = serve_in_thread(
        Starlette(routes=[Route("/invocations", invocations, methods=["POST"])])
    )
    emulator = serve_in_thread(agentcore_emulator.create_app(agent.url, ARN))
    gateway = serve_in_thread(apigw.create_app())
    empty = Path(tempfile.mkdtemp()) / "none"
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(empty),
            "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE": emulator.url,
            "SHIPIT_WEBHOOK_SECRET": SECRET,
            "SHIPIT_ALLOWED_USER_IDS": str(USER),
            "SHIPIT_AGENT_RUNTIME_ARN": ARN,
        }
    )
    from relay import handler as relay

    try:
        headers = {"x-telegram-bot-api-secret-token": SECRET, "content-type": "application/json"}

        def event(i: int) -> dict:
            return {"headers": headers, "body": json.dumps(update(i)), "isBase64Encoded": False}

        # The first call builds settings and the boto3 client: what a cold container pays once.
        t = time.perf_counter()
        assert relay.handler(event(0), None)["statusCode"] == 200
        rows.append(
            stats("first handler call, cold client (ms)", [(time.perf_counter() - t) * 1e3])
        )

        direct = []
        for i in range(1, REQUESTS + 1):
            t = time.perf_counter()
            result = relay.handler(event(i), None)
            direct.append((time.perf_counter() - t) * 1e3)
            assert result["statusCode"] == 200, result
        rows.append(stats("handler() → emulator → fake agent (ms)", direct))

        over_http = []
        with httpx.Client(base_url=gateway.url) as client:
            for i in range(REQUESTS + 1, 2 * REQUESTS + 1):
                body = json.dumps(update(i)).encode()
                t = time.perf_counter()
                response = client.post("/telegram", content=body, headers=headers)
                over_http.append((time.perf_counter() - t) * 1e3)
                assert response.status_code == 200, response.text
        rows.append(stats("HTTP → apigw → handler → ... (ms)", over_http))

        forwarded = len(httpx.get(f"{emulator.url}/_emulator/invocations").json()["invocations"])
        assert forwarded == 2 * REQUESTS + 1, forwarded
    finally:
        for server in (gateway, emulator, agent):
            server.stop()

    print(f"{'measurement':<44} {'n':>4} {'min':>9} {'median':>9} {'p95':>9}")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
