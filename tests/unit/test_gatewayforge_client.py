"""Tests of the GatewayForge client through a fake transport adapter, no network."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from forge_tasks.errors import (
    GatewayForgeError,
    PermanentGatewayForgeError,
    TransientGatewayForgeError,
)
from forge_tasks.gatewayforge.client import GatewayForgeClient
from forge_tasks.gatewayforge.models import (
    AccountConfig,
    AuditEventAck,
    AuditEventIn,
    ConfigPushResponse,
    InstanceHealth,
    PairState,
    PairStatus,
    Provider,
    ProviderHealthResponse,
    ProvisionRequest,
    ProvisionResponse,
    Role,
    Tier,
)

BASE_URL = "http://127.0.0.1:8790"
API_KEY = "gf-test-key-5d1e7c"
TIMEOUT_S = 3.5
HEALTH_URL = f"{BASE_URL}/v1/providers/health"
NOW = "2025-06-01T09:00:00Z"

Outcome = requests.Response | requests.RequestException
Responder = Callable[[requests.PreparedRequest], Outcome]


class FakeAdapter(BaseAdapter):
    """A transport that records each request and returns what ``responder`` builds."""

    def __init__(self, responder: Responder) -> None:
        super().__init__()
        self.responder = responder
        self.requests: list[requests.PreparedRequest] = []
        self.timeouts: list[Any] = []

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        self.requests.append(request)
        self.timeouts.append(kwargs.get("timeout"))
        outcome = self.responder(request)
        if isinstance(outcome, requests.RequestException):
            raise outcome
        return outcome

    def close(self) -> None:
        pass


def respond(
    status: int,
    body: Any = None,
    *,
    text: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Responder:
    """Return a responder that returns one status and body for every request."""

    def build(request: requests.PreparedRequest) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response.headers.update(headers or {"Content-Type": "application/json"})
        content = text if text is not None else json.dumps(body)
        response.raw = io.BytesIO(content.encode("utf-8"))
        response.encoding = "utf-8"
        response.request = request
        response.url = request.url or ""
        return response

    return build


def fail_with(exception: requests.RequestException) -> Responder:
    return lambda request: exception


MakeClient = Callable[[Responder], tuple[GatewayForgeClient, FakeAdapter]]


@pytest.fixture
def make_client() -> MakeClient:
    def make(responder: Responder) -> tuple[GatewayForgeClient, FakeAdapter]:
        adapter = FakeAdapter(responder)
        session = requests.Session()
        session.trust_env = False
        session.mount(BASE_URL + "/", adapter)
        client = GatewayForgeClient(
            base_url=BASE_URL + "/",
            api_key=API_KEY,
            timeout_s=TIMEOUT_S,
            session=session,
        )
        return client, adapter

    return make


PROVIDER_HEALTH_BODY = {
    "providers": [
        {
            "provider": "hetzner",
            "health_score": 92,
            "provision_success_rate_7d": 99.1,
            "avg_provision_time_s": 240.0,
            "quota_limit": 50,
            "quota_used": 3,
            "status_feed": {"format": "statuspage_v2", "document": {}},
        }
    ],
    "generated_at": NOW,
}
PROVISION_BODY = {
    "provisionRequestId": "pr-1",
    "instanceId": "i-1",
    "accountId": "acct-1",
    "role": "primary",
    "provider": "hetzner",
    "region": "nbg1",
    "status": "CREATING",
    "created_at": NOW,
}
PAIR_STATUS_BODY = {
    "provisionRequestId": "pr-1",
    "accountId": "acct-1",
    "instanceId": "i-1",
    "role": "primary",
    "provider": "hetzner",
    "region": "nbg1",
    "status": "BOOTSTRAPPING",
    "awaiting_config": True,
    "updated_at": NOW,
}
PROVISION_REQUEST = ProvisionRequest(
    account_id="acct-1",
    tier=Tier.STANDARD,
    primary_provider=Provider.HETZNER,
    primary_region="nbg1",
    standby_provider=Provider.VULTR,
    standby_region="ams",
    role=Role.PRIMARY,
)


def provision(client: GatewayForgeClient) -> ProvisionResponse:
    return client.provision(PROVISION_REQUEST, idempotency_key="b1:acct-1:primary:1")


# (call, response body, model, method, URL without query, query)
CALLS: dict[
    str, tuple[Callable[[GatewayForgeClient], Any], Any, type, str, str, str]
] = {
    "provider_health": (
        lambda client: client.provider_health(),
        PROVIDER_HEALTH_BODY,
        ProviderHealthResponse,
        "GET",
        HEALTH_URL,
        "",
    ),
    "provision": (
        provision,
        PROVISION_BODY,
        ProvisionResponse,
        "POST",
        f"{BASE_URL}/v1/provisions",
        "",
    ),
    "pair_status": (
        lambda client: client.pair_status(
            account_id="acct-1", provision_request_id="pr-1"
        ),
        PAIR_STATUS_BODY,
        PairStatus,
        "GET",
        f"{BASE_URL}/v1/provisions/pr-1",
        "accountId=acct-1",
    ),
    "account_config": (
        lambda client: client.account_config(account_id="acct-1"),
        {"accountId": "acct-1", "version": 3, "config": {"model": "m"}},
        AccountConfig,
        "GET",
        f"{BASE_URL}/v1/accounts/acct-1/config",
        "",
    ),
    "push_config": (
        lambda client: client.push_config(
            instance_id="i-1", account_id="acct-1", config={"model": "m"}
        ),
        {"instanceId": "i-1", "accepted": True},
        ConfigPushResponse,
        "POST",
        f"{BASE_URL}/v1/instances/i-1/config",
        "",
    ),
    "instance_health": (
        lambda client: client.instance_health(instance_id="i-1"),
        {"instanceId": "i-1", "score": 88, "live": True, "checked_at": NOW},
        InstanceHealth,
        "GET",
        f"{BASE_URL}/v1/instances/i-1/health",
        "live=true",
    ),
    "audit_event": (
        lambda client: client.audit_event(
            AuditEventIn(event_id="evt-1", action="provision_requested")
        ),
        {"event_id": "evt-1", "recorded": True},
        AuditEventAck,
        "POST",
        f"{BASE_URL}/v1/audit/events",
        "",
    ),
}


@pytest.mark.parametrize(
    ("call", "body", "model", "method", "url", "query"),
    CALLS.values(),
    ids=CALLS.keys(),
)
def test_response_parses_into_its_model(
    make_client: MakeClient,
    call: Callable[[GatewayForgeClient], Any],
    body: Any,
    model: type,
    method: str,
    url: str,
    query: str,
) -> None:
    client, adapter = make_client(respond(200, body))

    result = call(client)

    (sent,) = adapter.requests
    assert isinstance(result, model)
    assert sent.method == method
    assert sent.url == (f"{url}?{query}" if query else url)


def test_parsed_response_keeps_field_values(make_client: MakeClient) -> None:
    client, _ = make_client(respond(200, PAIR_STATUS_BODY))

    status = client.pair_status(account_id="acct-1", provision_request_id="pr-1")

    assert status.provision_request_id == "pr-1"
    assert status.status == PairState.BOOTSTRAPPING
    assert status.awaiting_config is True
    assert status.updated_at.utcoffset() is not None


def test_request_carries_bearer_api_key(make_client: MakeClient) -> None:
    client, adapter = make_client(respond(200, PROVIDER_HEALTH_BODY))

    client.provider_health()

    assert adapter.requests[0].headers["Authorization"] == f"Bearer {API_KEY}"


def test_provision_sends_idempotency_key(make_client: MakeClient) -> None:
    client, adapter = make_client(respond(201, PROVISION_BODY))

    provision(client)

    assert adapter.requests[0].headers["Idempotency-Key"] == "b1:acct-1:primary:1"


def test_provision_body_uses_the_api_field_names(make_client: MakeClient) -> None:
    client, adapter = make_client(respond(201, PROVISION_BODY))

    provision(client)

    body = json.loads(adapter.requests[0].body or b"")
    assert body["accountId"] == "acct-1"
    assert body["primaryProvider"] == "hetzner"
    assert body["standbyRegion"] == "ams"
    assert body["role"] == "primary"


def test_request_uses_the_configured_timeout(make_client: MakeClient) -> None:
    client, adapter = make_client(respond(200, PROVIDER_HEALTH_BODY))

    client.provider_health()

    assert adapter.timeouts == [TIMEOUT_S]


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429], ids=str)
def test_server_error_or_rate_limit_is_transient(
    make_client: MakeClient, status: int
) -> None:
    client, _ = make_client(respond(status, {"detail": "try later"}))

    with pytest.raises(TransientGatewayForgeError) as raised:
        client.provider_health()

    assert raised.value.status_code == status


@pytest.mark.parametrize(
    ("retry_after", "expected_s"),
    [("7", 7.0), ("0.5", 0.5), (None, None), ("Sun, 01 Jun 2025 09:00:00 GMT", None)],
    ids=["seconds", "fraction", "absent", "http_date_not_parsed"],
)
def test_rate_limit_carries_retry_after_seconds(
    make_client: MakeClient, retry_after: str | None, expected_s: float | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    client, _ = make_client(respond(429, {"detail": "slow down"}, headers=headers))

    with pytest.raises(TransientGatewayForgeError) as raised:
        client.provider_health()

    assert raised.value.retry_after_s == expected_s


TRANSPORT_ERRORS = {
    "connect_timeout": requests.ConnectTimeout("connect timed out"),
    "read_timeout": requests.ReadTimeout("read timed out"),
    "connection_error": requests.ConnectionError("connection refused"),
}


@pytest.mark.parametrize(
    "error", TRANSPORT_ERRORS.values(), ids=TRANSPORT_ERRORS.keys()
)
def test_transport_error_is_transient_and_chained(
    make_client: MakeClient, error: requests.RequestException
) -> None:
    client, _ = make_client(fail_with(error))

    with pytest.raises(TransientGatewayForgeError) as raised:
        client.provider_health()

    assert raised.value.__cause__ is error
    assert raised.value.status_code is None


def test_timeout_message_names_the_timeout(make_client: MakeClient) -> None:
    client, _ = make_client(fail_with(requests.ReadTimeout("read timed out")))

    with pytest.raises(TransientGatewayForgeError) as raised:
        client.provider_health()

    assert f"timed out after {TIMEOUT_S} s" in str(raised.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422], ids=str)
def test_other_client_error_is_permanent(make_client: MakeClient, status: int) -> None:
    client, _ = make_client(respond(status, {"detail": "rejected"}))

    with pytest.raises(PermanentGatewayForgeError) as raised:
        client.provider_health()

    assert raised.value.status_code == status
    assert "rejected" in str(raised.value)


UNPARSABLE_BODIES = {
    "not_json": respond(200, text="<html>gateway</html>"),
    "missing_field": respond(200, {"providers": []}),
    "wrong_type": respond(200, {"providers": "none", "generated_at": NOW}),
    "json_list": respond(200, []),
}


@pytest.mark.parametrize(
    "responder", UNPARSABLE_BODIES.values(), ids=UNPARSABLE_BODIES.keys()
)
def test_unparsable_body_is_permanent(
    make_client: MakeClient, responder: Responder
) -> None:
    client, _ = make_client(responder)

    with pytest.raises(PermanentGatewayForgeError) as raised:
        client.provider_health()

    assert "not a valid ProviderHealthResponse" in str(raised.value)
    assert raised.value.status_code == 200


FAILURES = {
    "server_error": respond(503, {"detail": "maintenance"}),
    "not_found": respond(404, {"detail": "no such thing"}),
    "unauthorized": respond(401, {"detail": "invalid API key"}),
    "timeout": fail_with(requests.ReadTimeout("read timed out")),
    "connection_error": fail_with(requests.ConnectionError("refused")),
    "unparsable_body": respond(200, text="not json"),
}


@pytest.mark.parametrize("responder", FAILURES.values(), ids=FAILURES.keys())
def test_error_names_call_without_api_key(
    make_client: MakeClient, responder: Responder
) -> None:
    client, _ = make_client(responder)

    with pytest.raises(GatewayForgeError) as raised:
        client.provider_health()

    message = str(raised.value)
    assert raised.value.method == "GET"
    assert raised.value.url == HEALTH_URL
    assert f"GET {HEALTH_URL}" in message
    assert API_KEY not in message
    assert API_KEY not in repr(raised.value.args)


def test_each_call_logs_one_info_line(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client, _ = make_client(respond(200, PROVIDER_HEALTH_BODY))

    with caplog.at_level("INFO", logger="forge_tasks.gatewayforge.client"):
        client.provider_health()

    (record,) = caplog.records
    assert record.getMessage().startswith("GET /v1/providers/health -> 200 in ")
    assert API_KEY not in record.getMessage()
