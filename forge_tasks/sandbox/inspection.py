"""Routes outside /v1: raw status feeds, the receivers and the /sandbox inspection API.

None of these need the API key: the raw feeds are public pages, the receivers
stand in for other services, and the inspection routes serve tests.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from forge_tasks.errors import ConfigurationError
from forge_tasks.gatewayforge.models import Provider
from forge_tasks.sandbox.api import get_simulator, status_base_url
from forge_tasks.sandbox.instances import ApiError
from forge_tasks.sandbox.journal import Journal
from forge_tasks.sandbox.scenario import ScenarioError, parse_scenario
from forge_tasks.sandbox.simulator import Simulator

logger = logging.getLogger(__name__)

WEBHOOK_HEADERS = (
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
)


def get_journal(request: Request) -> Journal:
    journal: Journal = request.app.state.journal
    return journal


SimulatorDep = Annotated[Simulator, Depends(get_simulator)]
JournalDep = Annotated[Journal, Depends(get_journal)]
router = APIRouter()


# Raw status feeds ------------------------------------------------------------------


def _feed_response(document: dict[str, Any] | str) -> Response:
    if isinstance(document, str):
        return HTMLResponse(document, status_code=502)
    return JSONResponse(document)


@router.get("/status/vultr/status.json")
def vultr_status(request: Request, simulator: SimulatorDep) -> Response:
    document = simulator.feed_document(Provider.VULTR, status_base_url(request))
    return _feed_response(document)


@router.get("/status/{provider}/api/v2/summary.json")
def statuspage_summary(
    request: Request, provider: str, simulator: SimulatorDep
) -> Response:
    if provider not in {p.value for p in Provider} or provider == Provider.VULTR:
        raise ApiError(
            404, "status_page_not_found",
            f"no Statuspage v2 feed for {provider!r}: Vultr publishes "
            "/status/vultr/status.json",
        )  # fmt: skip
    document = simulator.feed_document(Provider(provider), status_base_url(request))
    return _feed_response(document)


# Receivers -------------------------------------------------------------------------


@router.post("/companion/webhooks")
async def companion_webhook(request: Request, journal: JournalDep) -> Response:
    """Verify a Standard Webhooks v1 delivery and store it once per webhook-id."""
    # Imported here so the sandbox still starts while forge_tasks.webhooks is
    # being changed; only this receiver depends on it.
    from forge_tasks.webhooks import WebhookVerificationError, verify

    body = await request.body()
    headers = {
        name: request.headers[name]
        for name in WEBHOOK_HEADERS
        if name in request.headers
    }
    webhook_id = request.headers.get("webhook-id")
    try:
        verify(request.app.state.companion_secret, request.headers, body)
    except (WebhookVerificationError, ConfigurationError) as exc:
        logger.warning("rejected COMPANION webhook %s: %s", webhook_id, exc)
        journal.record_rejected_webhook(webhook_id, headers, str(exc))
        raise ApiError(401, "invalid_signature", str(exc)) from exc

    # verify() has checked that webhook-id is present.
    is_new = journal.record_webhook(
        request.headers["webhook-id"], headers, _parse_json(body)
    )
    return JSONResponse({"received": True, "duplicate": not is_new})


@router.post("/commander/notifications")
def commander_notification(
    body: Annotated[Any, Body()], journal: JournalDep
) -> dict[str, bool]:
    journal.record_notification(body)
    return {"received": True}


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return body.decode("utf-8", "replace")


# Inspection ------------------------------------------------------------------------


@router.get("/sandbox/requests")
def list_requests(
    journal: JournalDep, account_id: str | None = None
) -> list[dict[str, Any]]:
    return journal.requests(account_id)


@router.get("/sandbox/instances")
def list_instances(simulator: SimulatorDep) -> list[dict[str, Any]]:
    return simulator.instances()


@router.get("/sandbox/audit-events")
def list_audit_events(simulator: SimulatorDep) -> list[dict[str, Any]]:
    return simulator.audit_events()


@router.get("/sandbox/companion-webhooks")
def list_companion_webhooks(journal: JournalDep) -> list[dict[str, Any]]:
    return journal.webhooks()


@router.get("/sandbox/commander-notifications")
def list_commander_notifications(journal: JournalDep) -> list[dict[str, Any]]:
    return journal.notifications()


@router.get("/sandbox/scenario")
def get_scenario(simulator: SimulatorDep) -> dict[str, Any]:
    return simulator.scenario.model_dump(mode="json")


@router.put("/sandbox/scenario")
def put_scenario(
    document: Annotated[Any, Body()], simulator: SimulatorDep
) -> dict[str, Any]:
    """Replace the active scenario; it applies to provisions created from now on."""
    try:
        scenario = parse_scenario(
            document, simulator.catalogue, source="in PUT /sandbox/scenario"
        )
    except ScenarioError as exc:
        raise ApiError(422, "invalid_scenario", str(exc)) from exc
    simulator.replace_scenario(scenario)
    return scenario.model_dump(mode="json")


@router.get("/sandbox/dump")
def dump(
    request: Request, simulator: SimulatorDep, journal: JournalDep
) -> dict[str, Any]:
    """Everything the sandbox holds, as one document."""
    health = simulator.provider_health(status_base_url(request))
    return {
        "scenario": simulator.scenario.model_dump(mode="json"),
        "time_scale": simulator.time_scale,
        "seed": simulator.seed,
        "providers": health.model_dump(mode="json", by_alias=True)["providers"],
        "instances": simulator.instances(),
        "requests": journal.requests(),
        "audit_events": simulator.audit_events(),
        "companion_webhooks": journal.webhooks(),
        "commander_notifications": journal.notifications(),
    }
