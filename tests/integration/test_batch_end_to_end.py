"""A batch through real workers, real Redis, the sandbox, and SQLite or PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from batch_helpers import outcomes, submit, wait_for_report
from harness import Workers, sandbox

from forge_tasks.reporting import audit_trail, instance_rows

pytestmark = pytest.mark.integration

PAIRS = ["eu-default", "eu-redundancy", "us", "budget-eu"]


def ten_accounts() -> list[tuple[str, str, str]]:
    rows = []
    for index in range(10):
        pair = PAIRS[index % len(PAIRS)]
        tier = "budget" if pair == "budget-eu" else "standard"
        rows.append((f"acct-{index:02d}", tier, pair))
    return rows


def first_request(
    log: list[dict[str, object]], method: str, path: str
) -> dict[str, object]:
    return next(r for r in log if r["method"] == method and r["path"] == path)


def test_ten_account_batch_ends_protected(
    forge_env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    with sandbox(forge_env, tmp_path, "default") as box:
        workers.start()
        batch_id = submit(ten_accounts())
        report = wait_for_report(batch_id)

        assert set(outcomes(report).values()) == {"protected"}, workers.logs()
        assert report["counts"] == {"protected": 10}
        assert report["failure_rate_percent"] == 0.0
        assert report["status"] == "completed"

        stored = instance_rows(batch_id)
        created = box.instances()
        assert {r["instance_id"] for r in stored} == {i["instance_id"] for i in created}
        assert len(stored) == 20

        for account_id, _, _ in ten_accounts():
            log = box.requests_log(account_id)
            provision_calls = [
                r
                for r in log
                if r["method"] == "POST" and r["path"] == "/v1/provisions"
            ]
            first_call = provision_calls[0]
            intent = next(
                e for e in audit_trail(account_id) if e["action"] == "provision_primary"
            )
            intent_at = datetime.fromisoformat(intent["at"])
            call_at = datetime.fromisoformat(str(first_call["at"]))
            assert intent_at < call_at, f"{account_id}: intent after the first call"
            audit_post = first_request(log, "POST", "/v1/audit/events")
            assert int(audit_post["seq"]) < int(first_call["seq"])  # type: ignore[call-overload]

            primary = next(
                r
                for r in stored
                if r["account_id"] == account_id and r["role"] == "primary"
            )
            standby_call = next(r for r in provision_calls if r["role"] == "standby")
            assert standby_call["pair_instance_id"] == primary["instance_id"]


def test_failing_region_retries_in_another_region(
    forge_env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    rows = [
        ("fr-01", "standard", "eu-default"),
        ("fr-02", "standard", "eu-redundancy"),
        ("fr-03", "standard", "us"),
        ("fr-04", "standard", "eu-default"),
    ]
    with sandbox(forge_env, tmp_path, "failing-region"):
        workers.start()
        report = wait_for_report(submit(rows))

    by_account = {row["account_id"]: row for row in report["accounts"]}
    assert outcomes(report) == {account: "protected" for account, _, _ in rows}
    for account_id in ("fr-01", "fr-04"):
        assert by_account[account_id]["primary"] != "hetzner/nbg1"
        assert by_account[account_id]["primary"].startswith("hetzner/")
        actions = [e["action"] for e in audit_trail(account_id)]
        assert "attempt_failed" in actions
        assert "region_moved" in actions
        failed = next(
            e for e in audit_trail(account_id) if e["action"] == "attempt_failed"
        )
        assert "nbg1" in failed["details"]["reason"]
