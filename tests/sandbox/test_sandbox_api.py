"""The sandbox over HTTP, through FastAPI's TestClient (time scale 60, seed 11)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sandbox_helpers import API_KEY, COMPANION_SECRET, FakeClock, auth, provision_body

from forge_tasks.sandbox.accounts import SECRET_PREFIX
from forge_tasks.sandbox.server import create_app


def provision(client: TestClient, key: str = "key-1", **kwargs: Any) -> Any:
    return client.post(
        "/v1/provisions",
        json=provision_body(**kwargs),
        headers=auth(**{"Idempotency-Key": key}),
    )


def sign_webhook(body: bytes, msg_id: str, timestamp: int) -> dict[str, str]:
    """Sign with the Standard Webhooks v1 scheme, written out independently."""
    key = base64.b64decode(COMPANION_SECRET.removeprefix("whsec_"))
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
        "content-type": "application/json",
    }


# Authentication --------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": API_KEY}],
    ids=["missing", "wrong key", "no scheme"],
)
def test_v1_requires_bearer_key(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/v1/providers/health", headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_raw_feeds_need_no_key(client: TestClient) -> None:
    summary = client.get("/status/hetzner/api/v2/summary.json")
    vultr = client.get("/status/vultr/status.json")

    assert summary.status_code == 200
    assert summary.json()["status"]["indicator"] == "none"
    assert vultr.status_code == 200
    assert "regions" in vultr.json()


def test_vultr_has_no_statuspage_feed(client: TestClient) -> None:
    response = client.get("/status/vultr/api/v2/summary.json")

    assert response.status_code == 404


# Provider health -------------------------------------------------------------------


def test_provider_health_lists_every_provider(client: TestClient) -> None:
    body = client.get("/v1/providers/health", headers=auth()).json()

    formats = {p["provider"]: p["status_feed"]["format"] for p in body["providers"]}
    assert formats == {
        "hetzner": "statuspage_v2",
        "vultr": "vultr_status_json",
        "digitalocean": "statuspage_v2",
        "contabo": "statuspage_v2",
    }
    hetzner = body["providers"][0]
    assert hetzner["status_feed"]["document"]["page"]["url"] == (
        "http://testserver/status/hetzner"
    )


# Provisions ------------------------------------------------------------------------


def test_idempotent_provision_replays_same_request(client: TestClient) -> None:
    first = provision(client)
    again = provision(client)

    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == first.json()
    assert first.json()["status"] == "CREATING"
    assert len(client.get("/sandbox/instances").json()) == 1


def test_reused_key_with_other_body_is_409(client: TestClient) -> None:
    provision(client)

    response = provision(client, tier="enterprise")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"


def test_provision_without_key_is_400(client: TestClient) -> None:
    response = client.post("/v1/provisions", json=provision_body(), headers=auth())

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_missing"


def test_standby_requires_pair_instance_id(client: TestClient) -> None:
    response = provision(client, "standby-1", role="standby")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "pair_instance_required"


def test_standby_with_primary_is_created(client: TestClient) -> None:
    primary = provision(client).json()

    standby = provision(
        client, "standby-1", role="standby", pair_instance_id=primary["instanceId"]
    )

    assert standby.status_code == 202
    assert standby.json()["provider"] == "vultr"
    assert standby.json()["region"] == "ams"


def test_invalid_body_is_422_with_error_body(client: TestClient) -> None:
    response = provision(client, tier="platinum")

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "tier" in error["message"]


def test_unknown_region_is_422(client: TestClient) -> None:
    response = provision(client, primaryRegion="atlantis")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unknown_region"


def test_pair_reaches_active_over_http(client: TestClient, clock: FakeClock) -> None:
    created = provision(client).json()
    status_url = f"/v1/provisions/{created['provisionRequestId']}"
    params = {"accountId": "acct-1"}

    clock.advance(8 * 60 / 60)  # past CREATING at any drawn duration
    bootstrapping = client.get(status_url, params=params, headers=auth()).json()
    assert bootstrapping["status"] == "BOOTSTRAPPING"
    assert bootstrapping["awaiting_config"] is True

    config = client.get("/v1/accounts/acct-1/config", headers=auth()).json()
    pushed = client.post(
        f"/v1/instances/{created['instanceId']}/config",
        json={"accountId": "acct-1", "config": config["config"]},
        headers=auth(),
    )
    assert pushed.json() == {"instanceId": created["instanceId"], "accepted": True}

    clock.advance(8)
    active = client.get(status_url, params=params, headers=auth()).json()
    assert active["status"] == "ACTIVE"
    health = client.get(
        f"/v1/instances/{created['instanceId']}/health",
        params={"live": "true"},
        headers=auth(),
    ).json()
    assert health["score"] >= 70
    assert health["live"] is True


def test_config_push_while_creating_is_409(client: TestClient) -> None:
    created = provision(client).json()

    response = client.post(
        f"/v1/instances/{created['instanceId']}/config",
        json={"accountId": "acct-1", "config": {}},
        headers=auth(),
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "instance_not_awaiting_config"


def test_pair_status_of_other_account_is_404(client: TestClient) -> None:
    created = provision(client).json()

    response = client.get(
        f"/v1/provisions/{created['provisionRequestId']}",
        params={"accountId": "acct-2"},
        headers=auth(),
    )

    assert response.status_code == 404


def test_account_config_has_secret_token(client: TestClient) -> None:
    config = client.get("/v1/accounts/acct-1/config", headers=auth()).json()

    token = config["config"]["gateway"]["auth"]["token"]
    assert token.startswith(SECRET_PREFIX)
    assert config["accountId"] == "acct-1"


def test_audit_event_resend_returns_200(client: TestClient) -> None:
    event = {"event_id": "evt-1", "action": "provision_primary", "account_id": "a"}

    first = client.post("/v1/audit/events", json=event, headers=auth())
    again = client.post("/v1/audit/events", json=event, headers=auth())

    assert first.status_code == 201
    assert again.status_code == 200
    assert first.json() == {"event_id": "evt-1", "recorded": True}
    assert len(client.get("/sandbox/audit-events").json()) == 1


# Request log -----------------------------------------------------------------------


def test_request_log_records_each_call(client: TestClient) -> None:
    client.get("/v1/providers/health")
    created = provision(client).json()
    client.get(
        f"/v1/provisions/{created['provisionRequestId']}",
        params={"accountId": "acct-1"},
        headers=auth(),
    )

    log = client.get("/sandbox/requests").json()

    assert [entry["seq"] for entry in log] == [1, 2, 3]
    assert [entry["status_code"] for entry in log] == [401, 202, 200]
    post = log[1]
    assert post["method"] == "POST"
    assert post["path"] == "/v1/provisions"
    assert post["account_id"] == "acct-1"
    assert post["role"] == "primary"
    assert post["idempotency_key"] == "key-1"
    assert post["instance_id"] == created["instanceId"]
    assert post["provision_request_id"] == created["provisionRequestId"]
    poll = log[2]
    assert poll["account_id"] == "acct-1"
    assert poll["instance_id"] == created["instanceId"]


def test_request_log_filters_by_account(client: TestClient) -> None:
    provision(client, "k1", account_id="acct-1")
    provision(client, "k2", account_id="acct-2")

    log = client.get("/sandbox/requests", params={"account_id": "acct-2"}).json()

    assert [entry["idempotency_key"] for entry in log] == ["k2"]


def test_request_log_skips_inspection_routes(client: TestClient) -> None:
    client.get("/sandbox/instances")
    client.get("/status/vultr/status.json")

    assert client.get("/sandbox/requests").json() == []


# Receivers -------------------------------------------------------------------------


def test_companion_webhook_signature_accepted(client: TestClient) -> None:
    body = json.dumps({"account_id": "acct-1", "event": "pair.ready"}).encode()
    headers = sign_webhook(body, "evt_1", int(time.time()))

    first = client.post("/companion/webhooks", content=body, headers=headers)
    again = client.post("/companion/webhooks", content=body, headers=headers)

    assert first.status_code == 200
    assert first.json()["duplicate"] is False
    assert again.json()["duplicate"] is True
    [record] = client.get("/sandbox/companion-webhooks").json()
    assert record["verified"] is True
    assert record["deliveries"] == 2
    assert record["body"] == {"account_id": "acct-1", "event": "pair.ready"}
    assert record["headers"]["webhook-id"] == "evt_1"


@pytest.mark.parametrize(
    "tamper",
    ["body", "signature", "missing", "stale"],
)
def test_companion_webhook_signature_rejected(client: TestClient, tamper: str) -> None:
    body = b'{"event": "pair.ready"}'
    timestamp = int(time.time()) - (301 if tamper == "stale" else 0)
    headers = sign_webhook(body, "evt_2", timestamp)
    if tamper == "body":
        body = b'{"event": "pair.failed"}'
    elif tamper == "signature":
        headers["webhook-signature"] = "v1," + base64.b64encode(b"x" * 32).decode()
    elif tamper == "missing":
        del headers["webhook-signature"]

    response = client.post("/companion/webhooks", content=body, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    [record] = client.get("/sandbox/companion-webhooks").json()
    assert record["verified"] is False
    assert record["rejection_reason"]


def test_commander_notification_is_recorded(client: TestClient) -> None:
    note = {"kind": "batch_progress", "completed": 5}

    response = client.post("/commander/notifications", json=note)

    assert response.status_code == 200
    [record] = client.get("/sandbox/commander-notifications").json()
    assert record["body"] == note


# Scenario at run time --------------------------------------------------------------


def test_put_scenario_switches_faults_mid_run(
    client: TestClient, clock: FakeClock
) -> None:
    before = provision(client, "k1").json()
    incident = {
        "name": "hetzner-down",
        "faults": [
            {"kind": "provider_incident", "provider": "hetzner", "impact": "critical"},
            {"kind": "provision_failure", "provider": "hetzner"},
        ],
    }

    put = client.put("/sandbox/scenario", json=incident)
    after = provision(client, "k2").json()
    clock.advance(10)

    assert put.status_code == 200
    assert client.get("/sandbox/scenario").json()["name"] == "hetzner-down"
    states = {
        i["instance_id"]: i["status"] for i in client.get("/sandbox/instances").json()
    }
    assert states[before["instanceId"]] == "BOOTSTRAPPING"
    assert states[after["instanceId"]] == "FAILED"
    summary = client.get("/status/hetzner/api/v2/summary.json").json()
    assert summary["status"]["indicator"] == "critical"


def test_put_invalid_scenario_is_422(client: TestClient) -> None:
    response = client.put(
        "/sandbox/scenario", json={"faults": [{"kind": "http_error", "status": 418}]}
    )

    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "faults[0](http_error).status" in message
    assert "faults[0](http_error).rate" in message
    assert client.get("/sandbox/scenario").json()["name"] == "unnamed"


def test_http_error_fault_returns_429_with_retry_after(client: TestClient) -> None:
    client.put(
        "/sandbox/scenario",
        json={
            "faults": [
                {"kind": "http_error", "status": 429, "rate": 1, "retry_after_s": 90}
            ]
        },
    )

    response = client.get("/v1/providers/health", headers=auth())

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert response.headers["Retry-After"] == "2"  # 90 s at time scale 60
    assert client.get("/sandbox/requests").json()[0]["status_code"] == 429


def test_lost_response_still_creates_instance(client: TestClient) -> None:
    client.put(
        "/sandbox/scenario",
        json={
            "faults": [
                {
                    "kind": "http_error",
                    "status": 502,
                    "rate": 1,
                    "path_prefix": "/v1/provisions",
                    "phase": "after",
                }
            ]
        },
    )

    response = provision(client)

    assert response.status_code == 502
    assert len(client.get("/sandbox/instances").json()) == 1


def test_http_error_rate_is_seeded(clock: FakeClock) -> None:
    scenario = {"faults": [{"kind": "http_error", "status": 503, "rate": 0.5}]}

    def status_codes() -> list[int]:
        app = create_app(seed=3, api_key=API_KEY, companion_secret=COMPANION_SECRET)
        with TestClient(app) as test_client:
            test_client.put("/sandbox/scenario", json=scenario)
            return [
                test_client.get("/v1/providers/health", headers=auth()).status_code
                for _ in range(30)
            ]

    first = status_codes()
    second = status_codes()

    assert first == second
    assert set(first) == {200, 503}


def test_dump_contains_every_section(client: TestClient) -> None:
    provision(client)

    dump = client.get("/sandbox/dump").json()

    assert set(dump) == {
        "scenario",
        "time_scale",
        "seed",
        "providers",
        "instances",
        "requests",
        "audit_events",
        "companion_webhooks",
        "commander_notifications",
    }
    assert dump["time_scale"] == 60
    assert dump["seed"] == 11
    assert len(dump["instances"]) == 1
