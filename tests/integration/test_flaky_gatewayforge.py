"""A flaky GatewayForge (5xx, 429, lost responses) loses no account and doubles none."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from batch_helpers import submit, wait_for_report
from harness import Sandbox, Workers, sandbox

from forge_tasks.errors import TransientGatewayForgeError
from forge_tasks.reporting import audit_trail, instance_rows

pytestmark = pytest.mark.integration

PAIRS = ["eu-default", "eu-redundancy", "us", "budget-eu"]
SUBMIT_ATTEMPTS = 10


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def mixed_accounts(count: int, prefix: str) -> list[tuple[str, str, str]]:
    rows = []
    for index in range(count):
        pair = PAIRS[index % len(PAIRS)]
        tier = "budget" if pair == "budget-eu" else "standard"
        rows.append((f"{prefix}-{index:02d}", tier, pair))
    return rows


def submit_through_flaky_preflight(rows: list[tuple[str, str, str]]) -> str:
    """Submit, trying again when the preflight's health call fails transiently."""
    for attempt in range(SUBMIT_ATTEMPTS):
        try:
            return submit(rows)
        except TransientGatewayForgeError:
            if attempt == SUBMIT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def assert_store_matches_sandbox(batch_id: str, box: Sandbox) -> list[dict[str, Any]]:
    stored = instance_rows(batch_id)
    created = box.instances()
    assert {r["instance_id"] for r in stored} == {i["instance_id"] for i in created}
    per_attempt = Counter(
        (i["account_id"], i["role"], i["idempotency_key"]) for i in created
    )
    assert max(per_attempt.values()) == 1
    return created


def test_flaky_api_still_protects_every_account(
    forge_env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    rows = mixed_accounts(12, "flaky")
    with sandbox(forge_env, tmp_path, "flaky-api") as box:
        workers.start()
        batch_id = submit_through_flaky_preflight(rows)
        report = wait_for_report(batch_id, timeout_s=180)
        created = assert_store_matches_sandbox(batch_id, box)
        errors = [r for r in box.requests_log() if r["status_code"] >= 500]

    # A 429 response sets Retry-After to 60 runbook seconds, so a few in a row can push
    # an attempt past its 15-minute deadline: that account then rightly waits
    # for the Commander. No account may be lost or left without an outcome.
    counts = report["counts"]
    assert set(counts) <= {"protected", "awaiting_commander (timed_out)"}, (
        workers.logs()
    )
    assert sum(counts.values()) == 12
    assert counts.get("protected", 0) >= 9
    assert report["status"] == "completed"
    assert len(created) == 24
    assert errors, "the scenario should have injected server errors"


def test_failed_attempt_survives_a_flaky_recheck(
    forge_env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    rows = [(f"bf-{index:02d}", "standard", "eu-default") for index in range(6)]
    with sandbox(forge_env, tmp_path, "flaky-health-and-bootstrap-failures") as box:
        workers.start()
        batch_id = submit_through_flaky_preflight(rows)
        report = wait_for_report(batch_id, timeout_s=180)
        assert_store_matches_sandbox(batch_id, box)

    assert report["counts"] == {"protected": 6}, workers.logs()
    retried = [
        account_id
        for account_id, _, _ in rows
        if any(e["action"] == "attempt_failed" for e in audit_trail(account_id))
    ]
    assert len(retried) == 3


def test_rejected_webhooks_reach_the_commander(
    forge_env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    from forge_tasks.reporting import commander_inbox
    from forge_tasks.webhooks import generate_secret

    # The sandbox verifies COMPANION webhooks with a secret the worker lacks.
    sandbox_env = {**forge_env, "FORGE_COMPANION_SECRET": generate_secret()}
    with sandbox(sandbox_env, tmp_path, "default"):
        workers.start()
        batch_id = submit([("hook-01", "standard", "us")])
        report = wait_for_report(batch_id, timeout_s=120)
        inbox = commander_inbox(batch_id)

    assert report["counts"] == {"protected": 1}, workers.logs()
    failed = [n for n in inbox if n["kind"] == "webhook_failed"]
    assert {n["account_id"] for n in failed} == {"hook-01"}
    assert any("pair.primary_ready" in n["message"] for n in failed)
    actions = [e["action"] for e in audit_trail("hook-01")]
    assert "companion_not_notified" in actions
    assert "companion_notified" not in actions
