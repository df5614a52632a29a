"""Three signed AWS calls made with the standard library: Lambda Invoke, S3 PutObject, GetSecretValue.

Hand-written on purpose, instead of boto3: the relay's whole job is to answer Telegram fast,
and `import boto3` plus a client costs ~0.6 s of a cold start here (measured in
bench/lifecycle_bench.py) against ~0.05 s for this module. Only three operations are needed, all
with plain SigV4 over HTTPS, so the signer is small; tests check its signatures against
botocore's own SigV4Auth. Credentials come from the environment, which is where Lambda puts them;
`AWS_ENDPOINT_URL_<SERVICE>` and `AWS_ENDPOINT_URL` redirect a call as they do for boto3.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import http.client
import json
import os
import re
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

_ENDPOINT_VARS = {"lambda": "AWS_ENDPOINT_URL_LAMBDA", "secretsmanager": "AWS_ENDPOINT_URL_SECRETS_MANAGER", "s3": "AWS_ENDPOINT_URL_S3"}  # fmt: skip


class AwsCallError(Exception):
    """AWS answered with an error (code and HTTP status in attributes), or could not be reached."""

    def __init__(self, code: str, status: int, message: str = "") -> None:
        super().__init__(f"{code} ({status}): {message}")
        self.code, self.status, self.message = code, status, message


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Credentials:
        env = os.environ if env is None else env
        key, secret = env.get("AWS_ACCESS_KEY_ID", ""), env.get("AWS_SECRET_ACCESS_KEY", "")
        if not key or not secret:
            raise AwsCallError("MissingCredentials", 0, "AWS_ACCESS_KEY_ID/SECRET not set")
        return cls(key, secret, env.get("AWS_SESSION_TOKEN") or None)


def region(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"


def endpoint(service: str, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return (_override(service, env) or f"https://{service}.{region(env)}.amazonaws.com").rstrip("/")


def _override(service: str, env: Mapping[str, str]) -> str:
    return env.get(_ENDPOINT_VARS[service]) or env.get("AWS_ENDPOINT_URL") or ""


def object_url(bucket: str, key: str, env: Mapping[str, str] | None = None) -> str:
    """An S3 object's URL: virtual-hosted on AWS, path-style on an endpoint override (as
    botocore does for a loopback stand-in). `key` must need no escaping (the relay's do not)."""
    env = os.environ if env is None else env
    override = _override("s3", env).rstrip("/")
    if override:
        return f"{override}/{bucket}/{key}"
    return f"https://{bucket}.s3.{region(env)}.amazonaws.com/{key}"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def sign(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    service: str,
    region_name: str,
    credentials: Credentials,
    now: _dt.datetime,
) -> dict[str, str]:
    """`headers` plus X-Amz-Date, the token and Authorization (AWS Signature Version 4)."""
    parts = urllib.parse.urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    signed = {k.lower(): v.strip() for k, v in headers.items()}
    signed["host"] = parts.netloc
    signed["x-amz-date"] = amz_date
    if credentials.token:
        signed["x-amz-security-token"] = credentials.token
    names = sorted(signed)
    # Each path segment is encoded once more for every service but S3 (SigV4's rule).
    path = "/".join(urllib.parse.quote(s, safe="-_.~") for s in (parts.path or "/").split("/"))
    query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in sorted(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    )
    canonical = "\n".join(
        [
            method,
            path,
            query,
            "".join(f"{n}:{signed[n]}\n" for n in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{amz_date[:8]}/{region_name}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + credentials.secret_key).encode(), amz_date[:8])
    for part in (region_name, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out = {**headers, "X-Amz-Date": amz_date}
    if credentials.token:
        out["X-Amz-Security-Token"] = credentials.token
    out["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return out


_local = threading.local()  # one kept-alive connection per thread and host


def _connection(url: str, timeout: float) -> http.client.HTTPConnection:
    parts = urllib.parse.urlsplit(url)
    key = (parts.scheme, parts.netloc)
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = {}
    conn = pool.get(key)
    if conn is None:
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = pool[key] = cls(parts.netloc, timeout=timeout)
    return conn


def request(
    service: str,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float = 10.0,
    url: str = "",
) -> tuple[int, dict[str, str], bytes]:
    """One signed request to `path` on the service's endpoint (or to `url`); (status, lower-cased
    headers, body). Raises AwsCallError on failure."""
    url = url or endpoint(service) + path
    signed = sign(
        method,
        url,
        headers,
        body,
        service=service,
        region_name=region(),
        credentials=Credentials.from_env(),
        now=_dt.datetime.now(_dt.UTC),
    )
    parts = urllib.parse.urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    for attempt in (1, 2):  # a kept-alive connection the server closed is retried once, fresh
        conn = _connection(url, timeout)
        try:
            conn.request(method, target, body=body, headers=signed)
            response = conn.getresponse()
            data = response.read()
            break
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            _local.pool.pop((parts.scheme, parts.netloc), None)
            if attempt == 2:
                raise AwsCallError("ConnectionError", 0, str(exc)) from exc
    found = {k.lower(): v for k, v in response.getheaders()}
    if response.status >= 300:
        try:
            doc = json.loads(data or b"{}")
        except ValueError:
            doc = {}
        code = (
            found.get("x-amzn-errortype", "").split(":")[0]
            or doc.get("__type", "").split("#")[-1]
            or _xml_code(data)  # S3 answers errors in XML
        )
        message = doc.get("message") or doc.get("Message") or ""
        raise AwsCallError(code or "UnknownError", response.status, message)
    return response.status, found, data


def invoke_event(function_arn: str, payload: bytes, execution_name: str) -> str:
    """Lambda Invoke, InvocationType=Event, starting a durable execution named `execution_name`.

    The name is Lambda's idempotency key: the same name with the same payload returns the
    existing execution. Returns the execution ARN ("" when the service does not say).
    """
    path = f"/2015-03-31/functions/{urllib.parse.quote(function_arn, safe='')}/invocations"
    headers = {
        "Content-Type": "application/json",
        "X-Amz-Invocation-Type": "Event",
        "X-Amz-Durable-Execution-Name": execution_name,
    }
    _, found, _ = request("lambda", "POST", path, payload, headers, timeout=5.0)
    return found.get("x-amz-durable-execution-arn", "")


def _xml_code(data: bytes) -> str:
    match = re.search(rb"<Code>([A-Za-z0-9.]+)</Code>", data or b"")
    return match.group(1).decode() if match else ""


def put_object(bucket: str, key: str, body: bytes) -> None:
    """S3 PutObject of a small JSON document (S3 signs the payload hash as a header)."""
    headers = {
        "Content-Type": "application/json",
        "x-amz-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    request("s3", "PUT", "", body, headers, timeout=5.0, url=object_url(bucket, key))


def get_secret_string(secret_arn: str) -> str:
    """Secrets Manager GetSecretValue → SecretString."""
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "secretsmanager.GetSecretValue",
    }
    body = json.dumps({"SecretId": secret_arn}).encode()
    _, _, data = request("secretsmanager", "POST", "/", body, headers, timeout=5.0)
    return json.loads(data)["SecretString"]
