"""The /v1 routes: one HTTP endpoint per runbook tool (docs/gatewayforge-api.md).

Each handler stores the ids it learned in ``request.state.log_fields`` so the
request log in app.py can record them next to the status code.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from forge_tasks.gatewayforge.models import (
    AccountConfig,
    AuditEventAck,
    AuditEventIn,
    ConfigPushRequest,
    ConfigPushResponse,
    InstanceHealth,
    PairStatus,
    ProviderHealthResponse,
    ProvisionRequest,
    ProvisionResponse,
)
from forge_tasks.sandbox.instances import ApiError
from forge_tasks.sandbox.simulator import Simulator


def get_simulator(request: Request) -> Simulator:
    simulator: Simulator = request.app.state.simulator
    return simulator


def require_api_key(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    expected = f"Bearer {request.app.state.api_key}"
    if authorization is None or not hmac.compare_digest(
        authorization.encode(), expected.encode()
    ):
        raise ApiError(
            401, "unauthorized",
            "missing or invalid API key: send 'Authorization: Bearer <api key>'",
        )  # fmt: skip


def status_base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/status"


def _log(request: Request, **fields: Any) -> None:
    request.state.log_fields = {**getattr(request.state, "log_fields", {}), **fields}


SimulatorDep = Annotated[Simulator, Depends(get_simulator)]
router = APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)])


@router.get("/providers/health")
def provider_health(
    request: Request, simulator: SimulatorDep
) -> ProviderHealthResponse:
    """gf_provider_health."""
    return simulator.provider_health(status_base_url(request))


@router.post("/provisions", status_code=202)
def provision(
    request: Request,
    response: Response,
    body: ProvisionRequest,
    simulator: SimulatorDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> ProvisionResponse:
    """gf_provision: 202 on the first create, 200 when the key replays it."""
    result, replayed = simulator.provision(body, idempotency_key)
    if replayed:
        response.status_code = 200
    _log(
        request,
        instance_id=result.instance_id,
        provision_request_id=result.provision_request_id,
    )
    return result


@router.get("/provisions/{provision_request_id}")
def pair_status(
    request: Request,
    provision_request_id: str,
    simulator: SimulatorDep,
    account_id: Annotated[str, Query(alias="accountId")],
) -> PairStatus:
    """gf_pair_status."""
    _log(request, account_id=account_id, provision_request_id=provision_request_id)
    status = simulator.pair_status(provision_request_id, account_id)
    _log(request, instance_id=status.instance_id, role=status.role.value)
    return status


@router.get("/accounts/{account_id}/config")
def account_config(
    request: Request, account_id: str, simulator: SimulatorDep
) -> AccountConfig:
    """Return the account's OpenClaw config; it contains a secret, so never log it."""
    _log(request, account_id=account_id)
    return simulator.account_config(account_id)


@router.post("/instances/{instance_id}/config")
def push_config(
    request: Request, instance_id: str, body: ConfigPushRequest, simulator: SimulatorDep
) -> ConfigPushResponse:
    """config.push: only while the instance is BOOTSTRAPPING and awaiting its config."""
    _log(request, instance_id=instance_id)
    return simulator.push_config(instance_id, body.account_id, body.config)


@router.get("/instances/{instance_id}/health")
def instance_health(
    request: Request, instance_id: str, simulator: SimulatorDep, live: bool = False
) -> InstanceHealth:
    """gf_instance_health."""
    _log(request, instance_id=instance_id)
    return simulator.instance_health(instance_id, live)


@router.post("/audit/events", status_code=201)
def audit_event(
    response: Response, body: AuditEventIn, simulator: SimulatorDep
) -> AuditEventAck:
    """gf-audit: 201 when stored, 200 when the event_id was already stored."""
    ack, created = simulator.record_audit_event(body)
    if not created:
        response.status_code = 200
    return ack
