"""The GatewayForge HTTP client.

``requests`` errors become the project's own at one boundary (``_send``):
5xx, 429, timeouts and connection errors raise ``TransientGatewayForgeError``,
other 4xx and unparsable bodies ``PermanentGatewayForgeError``. Errors carry the
method and URL, never the API key. Each call logs one INFO line.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, TypeVar

import requests
from pydantic import BaseModel, ValidationError

from forge_tasks.errors import PermanentGatewayForgeError, TransientGatewayForgeError
from forge_tasks.gatewayforge.models import (
    AccountConfig,
    AuditEventAck,
    AuditEventIn,
    ConfigPushResponse,
    InstanceHealth,
    PairStatus,
    ProviderHealthResponse,
    ProvisionRequest,
    ProvisionResponse,
)
from forge_tasks.settings import Settings, get_settings

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)


class GatewayForgeClient:
    """Calls GatewayForge with one session; one method per runbook tool."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout_s: float,
        session: requests.Session | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s
        self._session = session or requests.Session()
        self._session.headers["Authorization"] = f"Bearer {api_key}"

    def provider_health(self) -> ProviderHealthResponse:
        """``gf_provider_health``."""
        return self._send("GET", "/v1/providers/health", ProviderHealthResponse)

    def provision(
        self, request: ProvisionRequest, *, idempotency_key: str
    ) -> ProvisionResponse:
        """``gf_provision``; resending with the same key returns the same request."""
        return self._send(
            "POST",
            "/v1/provisions",
            ProvisionResponse,
            json=request.model_dump(mode="json", by_alias=True),
            headers={"Idempotency-Key": idempotency_key},
        )

    def pair_status(self, *, account_id: str, provision_request_id: str) -> PairStatus:
        """``gf_pair_status``."""
        return self._send(
            "GET",
            f"/v1/provisions/{provision_request_id}",
            PairStatus,
            params={"accountId": account_id},
        )

    def account_config(self, *, account_id: str) -> AccountConfig:
        return self._send("GET", f"/v1/accounts/{account_id}/config", AccountConfig)

    def push_config(
        self, *, instance_id: str, account_id: str, config: dict[str, Any]
    ) -> ConfigPushResponse:
        """Send ``config.push``: the account's OpenClaw config to a bootstrapping instance."""
        return self._send(
            "POST",
            f"/v1/instances/{instance_id}/config",
            ConfigPushResponse,
            json={"accountId": account_id, "config": config},
        )

    def instance_health(self, *, instance_id: str) -> InstanceHealth:
        """``gf_instance_health`` with ``live=true``."""
        return self._send(
            "GET",
            f"/v1/instances/{instance_id}/health",
            InstanceHealth,
            params={"live": "true"},
        )

    def audit_event(self, event: AuditEventIn) -> AuditEventAck:
        """Record a gf-audit event; resending the same ``event_id`` is a no-op."""
        return self._send(
            "POST",
            "/v1/audit/events",
            AuditEventAck,
            json=event.model_dump(mode="json"),
        )

    def _send(
        self,
        method: str,
        path: str,
        model: type[ModelT],
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> ModelT:
        url = self._base_url + path
        started = time.monotonic()
        try:
            response = self._session.request(
                method,
                url,
                json=json,
                headers=headers,
                params=params,
                timeout=self._timeout_s,
            )
        except requests.Timeout as exc:
            raise TransientGatewayForgeError(
                f"{method} {url} timed out after {self._timeout_s} s",
                method=method,
                url=url,
            ) from exc
        except requests.RequestException as exc:
            raise TransientGatewayForgeError(
                f"{method} {url} failed: {type(exc).__name__}", method=method, url=url
            ) from exc
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.info(
            "%s %s -> %s in %.0f ms", method, path, response.status_code, elapsed_ms
        )
        _raise_for_status(response, method, url)
        try:
            return model.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            raise PermanentGatewayForgeError(
                f"{method} {url} returned a body that is not a valid {model.__name__}",
                method=method,
                url=url,
                status_code=response.status_code,
            ) from exc


def _raise_for_status(response: requests.Response, method: str, url: str) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = _error_detail(response)
    message = f"{method} {url} returned HTTP {status}: {detail}"
    if status == 429 or status >= 500:
        raise TransientGatewayForgeError(
            message,
            method=method,
            url=url,
            status_code=status,
            retry_after_s=_retry_after_s(response),
        )
    raise PermanentGatewayForgeError(
        message, method=method, url=url, status_code=status
    )


def _error_detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("error") or body)[:500]
    return str(body)[:500]


def _retry_after_s(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


_client: GatewayForgeClient | None = None
_client_pid: int | None = None


def get_client(settings: Settings | None = None) -> GatewayForgeClient:
    """Return this process's client; a forked child makes its own session."""
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        settings = settings or get_settings()
        _client = GatewayForgeClient(
            base_url=settings.gatewayforge_url,
            api_key=settings.gatewayforge_api_key.get_secret_value(),
            timeout_s=settings.gatewayforge_timeout_s,
        )
        _client_pid = os.getpid()
    return _client


def reset_client() -> None:
    global _client, _client_pid
    _client = None
    _client_pid = None
