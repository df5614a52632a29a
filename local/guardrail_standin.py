"""A local stand-in for Bedrock's ApplyGuardrail that blocks text matching configured regexes."""

from __future__ import annotations

import json
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# Wire shapes from botocore's bedrock-runtime 2023-09-30 service model (ApplyGuardrail).
APPLY_PATH = "/guardrail/{guardrailIdentifier:path}/version/{guardrailVersion}/apply"
DEFAULT_BLOCKED: tuple[str, ...] = (
    r"ignore (all )?(the )?(previous|prior|above) instructions",
    r"reveal .*secret",
)
# What a guardrail answers with when it blocks an input ("blockedInputMessaging" in its config).
BLOCKED_MESSAGE = "Sorry, the model cannot answer this question."
TEXT_UNIT_CHARS = 1000  # Bedrock bills and reports guardrail usage in 1,000-character text units
_SOURCES = ("INPUT", "OUTPUT")
_SCOPES = ("INTERVENTIONS", "FULL")
_VERSION_RE = re.compile(r"^(DRAFT|[1-9][0-9]{0,7})$")
_ARN_RE = re.compile(
    r"^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/(?P<id>[a-z0-9]+)$"
)


def _error(status: int, code: str, message: str) -> JSONResponse:
    # restJson errors: botocore takes the code from x-amzn-ErrorType, the message from the body.
    return JSONResponse(
        {"message": message},
        status_code=status,
        headers={"x-amzn-ErrorType": code, "x-amzn-RequestId": str(uuid.uuid4())},
    )


@dataclass
class StandIn:
    """What the stand-in knows: its one guardrail, its patterns, and every call it received."""

    guardrail_id: str
    version: str
    patterns: list[re.Pattern[str]]
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _calls: list[dict[str, Any]] = field(default_factory=list)
    _failures: list[tuple[int, str]] = field(default_factory=list)

    def knows(self, identifier: str, version: str) -> bool:
        # The service accepts the bare id or the full ARN; every guardrail also has a DRAFT.
        arn = _ARN_RE.match(identifier)
        ident = arn["id"] if arn else identifier
        return ident == self.guardrail_id and version in (self.version, "DRAFT")

    def fail_next(self, status: int, code: str, times: int = 1) -> None:
        """Answer the next `times` calls with this error (e.g. 429 ThrottlingException)."""
        with self._lock:
            self._failures.extend([(status, code)] * times)

    def take_failure(self) -> tuple[int, str] | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._calls.append(entry)
        return entry

    @property
    def calls(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c) for c in self._calls]

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
            self._failures.clear()


def _texts(content: list[Any]) -> list[str] | None:
    """The text of each content block, or None when a block is not a well-formed union member."""
    texts = []
    for block in content:
        if not isinstance(block, dict) or len(block) != 1:
            return None
        if "image" in block:
            continue  # images are accepted but this stand-in only judges text
        text = block.get("text")
        if not isinstance(text, dict) or not isinstance(text.get("text"), str):
            return None
        texts.append(text["text"])
    return texts


def _usage(chars: int) -> dict[str, int]:
    # Regex filters belong to the sensitive-information policy and are its free tier.
    units = math.ceil(chars / TEXT_UNIT_CHARS)
    return {
        "topicPolicyUnits": 0,
        "contentPolicyUnits": 0,
        "wordPolicyUnits": 0,
        "sensitiveInformationPolicyUnits": 0,
        "sensitiveInformationPolicyFreeUnits": units,
        "contextualGroundingPolicyUnits": 0,
    }


def assess(patterns: list[re.Pattern[str]], texts: list[str], started: float) -> dict[str, Any]:
    """An ApplyGuardrail response body for `texts`, shaped like the service's."""
    chars = sum(len(t) for t in texts)
    usage = _usage(chars)
    coverage = {"textCharacters": {"guarded": chars, "total": chars}}
    regexes = [
        {
            "name": f"blocked-{i}",
            "match": m.group(0),
            "regex": p.pattern,
            "action": "BLOCKED",
            "detected": True,
        }
        for text in texts
        for i, p in enumerate(patterns)
        if (m := p.search(text))
    ]
    assessment: dict[str, Any] = {
        "invocationMetrics": {
            "guardrailProcessingLatency": int((time.monotonic() - started) * 1000),
            "usage": usage,
            "guardrailCoverage": coverage,
        }
    }
    if regexes:
        assessment["sensitiveInformationPolicy"] = {"piiEntities": [], "regexes": regexes}
    return {
        "usage": usage,
        "action": "GUARDRAIL_INTERVENED" if regexes else "NONE",
        "actionReason": "Guardrail blocked." if regexes else "No action.",
        "outputs": [{"text": BLOCKED_MESSAGE}] if regexes else [],
        "assessments": [assessment],
        "guardrailCoverage": coverage,
    }


def create_app(
    guardrail_id: str,
    version: str = "DRAFT",
    blocked: list[str] | tuple[str, ...] = DEFAULT_BLOCKED,
) -> Starlette:
    """The stand-in. Only `guardrail_id` (at `version` or DRAFT) exists; `blocked` are regexes,
    matched case-insensitively, any of which makes the guardrail intervene.

    Calls are recorded on `app.state.standin` (also GET/DELETE /_standin/calls); SigV4 is not
    checked locally.
    """
    standin = StandIn(guardrail_id, version, [re.compile(b, re.IGNORECASE) for b in blocked])

    async def apply(request: Request) -> Response:
        started = time.monotonic()
        identifier = request.path_params["guardrailIdentifier"]
        gr_version = request.path_params["guardrailVersion"]
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        # Recorded before validation, so tests can tell "never called" from "called and refused".
        entry = standin.record(
            {
                "guardrailIdentifier": identifier,
                "guardrailVersion": gr_version,
                "source": body.get("source") if isinstance(body, dict) else None,
                "outputScope": body.get("outputScope") if isinstance(body, dict) else None,
                "texts": None,
                "action": None,
                "status": None,
            }
        )

        def refuse(status: int, code: str, message: str) -> JSONResponse:
            entry["status"] = status
            return _error(status, code, message)

        if (failure := standin.take_failure()) is not None:
            return refuse(*failure, "Injected failure")
        if not isinstance(body, dict):
            return refuse(400, "ValidationException", "Request body is not a JSON object")
        if not _VERSION_RE.match(gr_version):
            return refuse(400, "ValidationException", "guardrailVersion is not valid")
        if body.get("source") not in _SOURCES:
            return refuse(400, "ValidationException", "source must be INPUT or OUTPUT")
        if body.get("outputScope", "INTERVENTIONS") not in _SCOPES:
            return refuse(400, "ValidationException", "outputScope must be INTERVENTIONS or FULL")
        content = body.get("content")
        texts = _texts(content) if isinstance(content, list) else None
        if texts is None:
            return refuse(400, "ValidationException", "content must be a list of content blocks")
        entry["texts"] = texts
        if not standin.knows(identifier, gr_version):
            return refuse(
                404,
                "ResourceNotFoundException",
                f"The guardrail {identifier} (version {gr_version}) was not found.",
            )
        result = assess(standin.patterns, texts, started)
        entry["action"], entry["status"] = result["action"], 200
        return JSONResponse(result, headers={"x-amzn-RequestId": str(uuid.uuid4())})

    async def list_calls(request: Request) -> Response:
        return JSONResponse({"calls": standin.calls})

    async def clear_calls(request: Request) -> Response:
        standin.clear()
        return Response(status_code=204)

    async def unknown(request: Request) -> Response:
        return _error(404, "UnknownOperationException", "Unknown operation")

    app = Starlette(
        routes=[
            # The {path} converter receives an ARN identifier already percent-decoded.
            Route(APPLY_PATH, apply, methods=["POST"]),
            Route("/_standin/calls", list_calls, methods=["GET"]),
            Route("/_standin/calls", clear_calls, methods=["DELETE"]),
            Route(
                "/{rest:path}", unknown, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
            ),
        ]
    )
    app.state.standin = standin
    return app
