"""One simulated instance and the response bodies built from it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from forge_tasks.gatewayforge.models import (
    PairState,
    PairStatus,
    Provider,
    ProvisionRequest,
    ProvisionResponse,
    Role,
)
from forge_tasks.sandbox.timeline import Snapshot, Timeline


class ApiError(Exception):
    """Raised when a request cannot be served; carries the HTTP status and code."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message


@dataclass
class Instance:
    """One simulated instance and the request that created it."""

    provision_request_id: str
    instance_id: str
    account_id: str
    role: Role
    provider: Provider
    region: str
    pair_instance_id: str | None
    idempotency_key: str
    request_fingerprint: str
    created_at: datetime
    timeline: Timeline
    health_score: int
    applied_faults: tuple[str, ...]
    pushed_config_digest: str | None = None
    config_matches_account: bool | None = None


def placement_of(request: ProvisionRequest) -> tuple[Provider, str]:
    """Return the provider and region that the request's role creates."""
    if request.role is Role.PRIMARY:
        return request.primary_provider, request.primary_region
    return request.standby_provider, request.standby_region


def fingerprint(request: ProvisionRequest) -> str:
    """Return a canonical form of the request, to compare an idempotent resend."""
    body = request.model_dump(mode="json", by_alias=True)
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def provision_response(instance: Instance) -> ProvisionResponse:
    return ProvisionResponse(
        provision_request_id=instance.provision_request_id,
        instance_id=instance.instance_id,
        account_id=instance.account_id,
        role=instance.role,
        provider=instance.provider,
        region=instance.region,
        status=PairState.CREATING,
        created_at=instance.created_at,
    )


def pair_status(
    instance: Instance, snapshot: Snapshot, updated_at: datetime
) -> PairStatus:
    return PairStatus(
        provision_request_id=instance.provision_request_id,
        account_id=instance.account_id,
        instance_id=instance.instance_id,
        role=instance.role,
        provider=instance.provider,
        region=instance.region,
        status=snapshot.status,
        awaiting_config=snapshot.awaiting_config,
        pair_instance_id=instance.pair_instance_id,
        failure=snapshot.failure,
        updated_at=updated_at,
    )


def describe(
    instance: Instance, snapshot: Snapshot, config_pushed_at: datetime | None
) -> dict[str, Any]:
    """Return the /sandbox/instances entry of one instance."""
    failure = snapshot.failure
    return {
        "instance_id": instance.instance_id,
        "provision_request_id": instance.provision_request_id,
        "account_id": instance.account_id,
        "role": instance.role.value,
        "provider": instance.provider.value,
        "region": instance.region,
        "pair_instance_id": instance.pair_instance_id,
        "idempotency_key": instance.idempotency_key,
        "status": snapshot.status.value,
        "awaiting_config": snapshot.awaiting_config,
        "failure": None if failure is None else failure.model_dump(mode="json"),
        "created_at": instance.created_at.isoformat(),
        "duration_s": round(instance.timeline.duration_s, 3),
        "config_pushed_at": None
        if config_pushed_at is None
        else config_pushed_at.isoformat(),
        "config_matches_account": instance.config_matches_account,
        "health_score": instance.health_score,
        "applied_faults": list(instance.applied_faults),
    }
