"""Screen incoming requests with a Bedrock guardrail (ApplyGuardrail) before the model sees them."""

from __future__ import annotations

import logging
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from agent.settings import Settings

log = logging.getLogger(__name__)

# Someone is waiting in a chat: a few quick attempts, then say so, rather than botocore's
# default 60 s timeouts and legacy retries. Set in code, so AWS_MAX_ATTEMPTS cannot stretch it.
CLIENT_CONFIG = Config(
    connect_timeout=3,
    read_timeout=10,
    retries={"mode": "standard", "max_attempts": 3},
)
# Errors the service documents as "try again later" for ApplyGuardrail.
_TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "ServiceQuotaExceededException",
        "InternalServerException",
        "ServiceUnavailableException",
    }
)


class ScreeningUnavailable(Exception):
    """The guardrail could not be asked right now (throttled, outage, network); retrying may help."""


class ScreeningMisconfigured(Exception):
    """The guardrail cannot be used as configured (unknown id/version, no access, no credentials)."""


def intervened(response: dict[str, Any]) -> bool:
    """Whether an ApplyGuardrail response stops the request.

    The service answers NONE or GUARDRAIL_INTERVENED; anything but an explicit NONE (a missing or
    future action) counts as an intervention, so a surprise fails closed like an outage does.
    Note that a guardrail which only *masks* input (PII set to anonymize) also intervenes: this
    screen cannot hand the masked text on, so it blocks; configure input filters to block instead.
    """
    return response.get("action") != "NONE"


class Screen:
    """Asks one guardrail whether a chat message may reach the coding agent."""

    def __init__(self, client: Any, guardrail_id: str, guardrail_version: str) -> None:
        self._client = client
        self.guardrail_id = guardrail_id
        self.guardrail_version = guardrail_version

    @classmethod
    def from_settings(cls, settings: Settings, client: Any = None) -> Screen:
        """A screen for the configured guardrail. AWS_ENDPOINT_URL_BEDROCK_RUNTIME redirects the
        client (boto3 reads it itself), which is how the local stand-in is reached."""
        if client is None:
            client = boto3.client(
                "bedrock-runtime", region_name=settings.aws_region or None, config=CLIENT_CONFIG
            )
        return cls(client, settings.guardrail_id, settings.guardrail_version)

    def allows(self, text: str) -> bool:
        """True when the guardrail lets `text` through; False when it intervenes.

        Fails closed: raises ScreeningUnavailable or ScreeningMisconfigured instead of allowing.
        Screening is off unless an operator configured a guardrail, so when it is on they have
        asked that no unscreened text reach an agent that can edit and publish their site; an
        outage must not quietly switch that off (an attacker who can cause throttling would
        otherwise get through). The cost is a short "try again" for the requester.
        """
        try:
            response = self._client.apply_guardrail(
                guardrailIdentifier=self.guardrail_id,
                guardrailVersion=self.guardrail_version,
                source="INPUT",
                content=[{"text": {"text": text}}],
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in _TRANSIENT_CODES or status == 429 or status >= 500:
                log.warning("guardrail unavailable: %s %s", code, error.get("Message", ""))
                raise ScreeningUnavailable(f"{code}: {error.get('Message', '')}") from exc
            log.error("guardrail misconfigured: %s %s", code, error.get("Message", ""))
            raise ScreeningMisconfigured(f"{code}: {error.get('Message', '')}") from exc
        except (BotoConnectionError, HTTPClientError) as exc:
            log.warning("guardrail unreachable: %s", exc)
            raise ScreeningUnavailable(str(exc)) from exc
        except BotoCoreError as exc:
            # No credentials, bad parameters and the like: retrying will not fix them.
            log.error("guardrail misconfigured: %s", exc)
            raise ScreeningMisconfigured(str(exc)) from exc
        if intervened(response):
            # The reason and lengths only: the request text itself stays out of the logs.
            log.info(
                "guardrail %s intervened (%s) on a %d-character request",
                self.guardrail_id,
                response.get("actionReason", "no reason given"),
                len(text),
            )
            return False
        return True
