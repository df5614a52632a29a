"""Loopback stand-ins for AWS APIs the relay signs itself; each checks SigV4 with botocore."""

from __future__ import annotations

import json

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def botocore_signature(
    method: str, url: str, headers: dict[str, str], body: bytes, service: str, region: str,
    access_key: str, secret_key: str, token: str | None,
) -> str:  # fmt: skip
    """The signature botocore computes for this request at its own X-Amz-Date."""
    unsigned = {k: v for k, v in headers.items() if k.lower() != "authorization"}
    request = AWSRequest(method=method, url=url, data=body, headers=unsigned)
    amz_date = next(v for k, v in headers.items() if k.lower() == "x-amz-date")
    request.context["timestamp"] = amz_date
    auth = SigV4Auth(Credentials(access_key, secret_key, token), service, region)
    canonical = auth.canonical_request(request)
    return auth.signature(auth.string_to_sign(request, canonical), request)


def signature_ok(request: Request, body: bytes, service: str, secret_key: str) -> bool:
    """Does the request's Authorization header carry the signature botocore expects?"""
    header = request.headers.get("authorization", "")
    try:
        credential = header.split("Credential=", 1)[1].split(",", 1)[0]
        signed = header.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
        given = header.rsplit("Signature=", 1)[1]
    except IndexError:
        return False
    access_key, _date, region, *_ = credential.split("/")
    headers = {name: request.headers[name] for name in signed if name in request.headers}
    expected = botocore_signature(
        request.method, str(request.url), headers, body, service, region, access_key, secret_key,
        request.headers.get("x-amz-security-token"),
    )  # fmt: skip
    return given == expected


def secrets_manager(secrets: dict[str, str], secret_key: str = "testing") -> Starlette:
    """GetSecretValue for `secrets` (ARN → value); counts calls in app.state.calls."""

    async def call(request: Request) -> JSONResponse:
        body = await request.body()
        request.app.state.calls += 1
        if not signature_ok(request, body, "secretsmanager", secret_key):
            return JSONResponse(
                {"__type": "InvalidSignatureException", "message": "bad signature"}, 403
            )
        if request.headers.get("x-amz-target") != "secretsmanager.GetSecretValue":
            return JSONResponse({"__type": "UnknownOperationException"}, 400)
        arn = json.loads(body)["SecretId"]
        if arn not in secrets:
            message = "Secrets Manager can't find the specified secret."
            return JSONResponse({"__type": "ResourceNotFoundException", "message": message}, 400)
        return JSONResponse({"ARN": arn, "SecretString": secrets[arn]})

    app = Starlette(routes=[Route("/", call, methods=["POST"])])
    app.state.calls = 0
    return app
