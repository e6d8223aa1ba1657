"""The FastAPI application: routes, error bodies, the request log and injected errors.

Every error body has the form ``{"error": {"code": ..., "message": ...}}``.
Every request under /v1 passes through one middleware. It may replace the
response with an http_error fault of the scenario (before or after the handler
runs), and then it appends the request to the request log.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from forge_tasks.sandbox import api, inspection
from forge_tasks.sandbox.instances import ApiError
from forge_tasks.sandbox.journal import Journal
from forge_tasks.sandbox.scenario import HttpError
from forge_tasks.sandbox.simulator import Simulator

logger = logging.getLogger(__name__)

INJECTED_ERROR_CODES = {
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}


def build_app(
    simulator: Simulator, journal: Journal, *, api_key: str, companion_secret: str
) -> FastAPI:
    """Assemble the sandbox application around an existing simulator and journal."""
    app = FastAPI(
        title="GatewayForge sandbox",
        description="A simulated GatewayForge API for forge-tasks tests and demos.",
    )
    app.state.simulator = simulator
    app.state.journal = journal
    app.state.api_key = api_key
    app.state.companion_secret = companion_secret
    app.include_router(api.router)
    app.include_router(inspection.router)
    app.add_exception_handler(ApiError, _api_error_response)  # type: ignore[arg-type]
    app.add_exception_handler(
        RequestValidationError,
        _validation_error_response,  # type: ignore[arg-type]
    )
    app.middleware("http")(_v1_middleware)
    return app


def error_response(
    status_code: int, code: str, message: str, **extra: Any
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, **extra}}
    headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else None
    return JSONResponse(body, status_code=status_code, headers=headers)


async def _api_error_response(request: Request, exc: ApiError) -> JSONResponse:
    logger.info(
        "%s %s rejected with %s %s: %s",
        request.method, request.url.path, exc.status_code, exc.code, exc.message,
    )  # fmt: skip
    return error_response(exc.status_code, exc.code, exc.message)


async def _validation_error_response(
    request: Request, exc: RequestValidationError
) -> JSONResponse:
    problems = [
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
        for error in exc.errors()
    ]
    return error_response(
        422, "invalid_request", "invalid request: " + "; ".join(problems),
        details=json.loads(json.dumps(exc.errors(), default=str)),
    )  # fmt: skip


CallNext = Callable[[Request], Awaitable[Response]]


async def _v1_middleware(request: Request, call_next: CallNext) -> Response:
    if not request.url.path.startswith("/v1/"):
        return await call_next(request)
    simulator: Simulator = request.app.state.simulator
    journal: Journal = request.app.state.journal
    body = await request.body()
    fields = _fields_from_request(request, body)

    injected = simulator.draw_http_error(request.method, request.url.path, "before")
    if injected is not None:
        response: Response = _injected_response(injected, simulator.time_scale)
    else:
        response = await call_next(request)
        handler_fields = getattr(request.state, "log_fields", {})
        fields.update({k: v for k, v in handler_fields.items() if v is not None})
        injected = simulator.draw_http_error(request.method, request.url.path, "after")
        if injected is not None:
            response = _injected_response(injected, simulator.time_scale)

    journal.record_request(
        request.method, request.url.path, response.status_code, fields
    )
    return response


def _fields_from_request(request: Request, body: bytes) -> dict[str, Any]:
    """Read the request-log fields the request itself carries."""
    payload: Any = {}
    if body:
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            payload = {}
    if not isinstance(payload, dict):
        payload = {}
    return {
        "account_id": payload.get("accountId")
        or payload.get("account_id")
        or request.query_params.get("accountId"),
        "role": payload.get("role"),
        "pair_instance_id": payload.get("pair_instance_id"),
        "idempotency_key": request.headers.get("Idempotency-Key"),
    }


def _injected_response(injected: tuple[int, HttpError], time_scale: float) -> Response:
    index, fault = injected
    response = error_response(
        fault.status,
        INJECTED_ERROR_CODES[fault.status],
        f"simulated HTTP {fault.status} from scenario fault faults[{index}]",
    )
    if fault.status == 429:
        response.headers["Retry-After"] = str(
            math.ceil(fault.retry_after_s / time_scale)
        )
    logger.debug("responded with a simulated %s from faults[%s]", fault.status, index)
    return response
