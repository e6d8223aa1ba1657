"""Bulk batches across two workers: the in-flight limit, pause and resume, crashes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
import redis
from batch_helpers import outcomes, submit, wait_for_report
from bulk_helpers import max_in_flight
from harness import ROOT, Workers, sandbox, wait_until

from forge_tasks.canvas import account_chain
from forge_tasks.reporting import batch_progress, batch_status, commander_inbox
from forge_tasks.store import batches as batch_store
from forge_tasks.store.engine import session_scope
from forge_tasks.tasks import watchdog
from forge_tasks.tasks.common import make_ref

pytestmark = pytest.mark.integration


@pytest.fixture
def store_url(postgres_url: str) -> str:
    """These tests run on the real PostgreSQL, as several machines would."""
    return postgres_url


def accounts(
    count: int, prefix: str, pair: str = "eu-default"
) -> list[tuple[str, str, str]]:
    return [(f"{prefix}-{index:02d}", "standard", pair) for index in range(count)]


def test_forty_accounts_never_exceed_five_in_flight(
    forge_env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    with sandbox(forge_env, tmp_path, "default") as box:
        workers.start("worker1")
        workers.start("worker2")
        report = wait_for_report(submit(accounts(40, "bulk")), timeout_s=240)
        log = box.requests_log()

    assert report["counts"] == {"protected": 40}, workers.logs()
    assert max_in_flight(log) == 5


def test_failures_pause_the_batch_until_resumed(
    forge_env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    with sandbox(forge_env, tmp_path, "provider-fails-then-recovers"):
        workers.start("worker1")
        workers.start("worker2")
        batch_id = submit(accounts(20, "pause", pair="us"))

        wait_until(
            lambda: batch_status(batch_id)["status"] == "paused",
            timeout_s=120,
            what="the batch to pause",
        )
        wait_until(
            lambda: batch_progress(batch_id)["in_flight"] == 0,
            timeout_s=120,
            what="in-flight accounts to finish while paused",
        )
        started_while_paused = batch_status(batch_id)["started_count"]
        paused = batch_progress(batch_id)

        resume = subprocess.run(
            [sys.executable, "-m", "forge_tasks", "batch", "resume", batch_id],
            env=forge_env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        report = wait_for_report(batch_id, timeout_s=180)

    assert resume.returncode == 0, resume.stderr
    assert paused["status"] == "paused"
    assert paused["waiting"] > 0
    assert started_while_paused == paused["done"]
    kinds = Counter(n["kind"] for n in commander_inbox(batch_id))
    assert kinds["batch_paused"] == 1
    assert report["status"] == "completed"
    assert report["size"] == 20
    assert report["counts"]["protected"] >= 20 - paused["failed"]


def test_killed_worker_leaks_no_slot(forge_env: dict[str, str], tmp_path: Path) -> None:
    # 5 s is above the longest countdown at time scale 240 (300 s / 240 = 1.25 s).
    env = {**forge_env, "FORGE_VISIBILITY_TIMEOUT_S": "5"}
    pool = Workers(env, tmp_path)
    with sandbox(env, tmp_path, "default") as box:
        victim = pool.start("victim")
        pool.start("survivor")
        try:
            batch_id = submit(accounts(20, "kill"))
            wait_until(
                lambda: batch_progress(batch_id)["done"] >= 4,
                timeout_s=120,
                what="a few accounts to finish",
            )
            victim.kill()
            report = wait_for_report(batch_id, timeout_s=240)
            log = box.requests_log()
            created = box.instances()
        finally:
            pool.stop_all()

    # A poll held by the killed worker comes back only after the visibility
    # timeout, which at this time scale is past the 15-minute provision timeout:
    # such an account rightly ends awaiting the Commander (timed_out).
    allowed = {"protected", "awaiting_commander (timed_out)"}
    assert set(report["counts"]) <= allowed, pool.logs()
    assert sum(report["counts"].values()) == 20
    assert report["counts"].get("protected", 0) >= 15
    per_attempt = Counter(
        (i["account_id"], i["role"], i["idempotency_key"]) for i in created
    )
    assert max(per_attempt.values()) == 1
    assert max_in_flight(log) == 5


def test_duplicate_start_messages_make_no_second_instance(
    forge_env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    rows = accounts(8, "dup")
    with sandbox(forge_env, tmp_path, "default") as box:
        workers.start("worker1")
        workers.start("worker2")
        batch_id = submit(rows)
        for account_id, _, _ in rows:
            account_chain(make_ref(batch_id, account_id)).apply_async()
        report = wait_for_report(batch_id)
        created = box.instances()

    assert report["counts"] == {"protected": 8}
    keys = Counter((i["account_id"], i["role"], i["idempotency_key"]) for i in created)
    assert max(keys.values()) == 1
    per_role = Counter((i["account_id"], i["role"]) for i in created)
    assert set(per_role.values()) == {1}
    assert len(created) == 16


def test_starts_past_the_approved_count_are_refused(
    forge_env: dict[str, str], tmp_path: Path
) -> None:
    # Refused accounts end failed; a threshold of 100 % keeps the failure-rate
    # pause from holding back the accounts this test waits for.
    env = {**forge_env, "FORGE_BATCH_FAILURE_THRESHOLD_PERCENT": "100"}
    workers = Workers(env, tmp_path)
    rows = accounts(6, "over")
    batch_id = "b-over-approved"
    planned = [
        batch_store.PlannedAccount(
            account_id=account_id,
            tier="standard",
            pair_name="eu-default",
            primary_provider="hetzner",
            primary_region="nbg1",
            standby_provider="vultr",
            standby_region="ams",
        )
        for account_id, _, _ in rows
    ]
    with session_scope() as session:
        batch_store.create_batch(
            session=session,
            batch_id=batch_id,
            accounts=planned,
            approved_count=3,
            approved_cost_eur=Decimal(100),
            estimated_cost_eur=Decimal(60),
            concurrency=5,
            source="test bypassing submit",
        )
    with sandbox(env, tmp_path, "default") as box:
        workers.start("worker1")
        try:
            results = [
                account_chain(make_ref(batch_id, account_id)).apply_async()
                for account_id, _, _ in rows
            ]
            outcomes_by_account = {
                result.get(timeout=120)["account_id"]: result.get(timeout=1)["outcome"]
                for result in results
            }
            provisioned = {
                r["account_id"]
                for r in box.requests_log()
                if r["method"] == "POST" and r["path"] == "/v1/provisions"
            }
        finally:
            workers.stop_all()

    assert Counter(outcomes_by_account.values()) == {"protected": 3, "failed": 3}
    refused = {a for a, outcome in outcomes_by_account.items() if outcome == "failed"}
    assert refused.isdisjoint(provisioned)
    assert len(provisioned) == 3
    assert batch_status(batch_id)["started_count"] == 3


def test_send_task_from_a_process_without_forge_tasks(
    forge_env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    script = textwrap.dedent(
        """
        import json, sys
        from celery import Celery
        assert "forge_tasks" not in sys.modules
        client = Celery(broker=sys.argv[1], backend=sys.argv[1])
        payload = {
            "accounts": [
                {"account_id": "ext-01", "tier": "standard", "pair": "us"},
                {"account_id": "ext-02", "tier": "budget", "pair": "budget-eu"},
            ],
            "approved_count": 2,
            "approved_cost_eur": "200",
        }
        result = client.send_task("forge.batch.submit", args=[payload], queue="forge")
        print(json.dumps(result.get(timeout=60)))
        bad = client.send_task("forge.batch.submit", args=[{"accounts": []}], queue="forge")
        try:
            bad.get(timeout=60)
        except Exception as exc:
            print("rejected:", type(exc).__name__, exc)
        """
    )
    with sandbox(forge_env, tmp_path, "default"):
        workers.start("worker1")
        sent = subprocess.run(
            [sys.executable, "-c", script, forge_env["FORGE_BROKER_URL"]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert sent.returncode == 0, sent.stderr
        first_line = sent.stdout.splitlines()[0]
        batch_id = first_line.split('"batch_id": "')[1].split('"')[0]
        report = wait_for_report(batch_id)

    assert outcomes(report) == {"ext-01": "protected", "ext-02": "protected"}
    assert "rejected: InputError" in sent.stdout
    assert "accounts" in sent.stdout.splitlines()[1]


def test_watchdog_recovers_a_batch_whose_messages_were_lost(
    forge_env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    env = {**forge_env, "FORGE_VISIBILITY_TIMEOUT_S": "2"}
    pool = Workers(env, tmp_path)
    rows = accounts(3, "lost")
    with sandbox(env, tmp_path, "default") as box:
        batch_id = submit(rows)
        # No worker has run yet: dropping the queue loses every chain, the
        # chord's callback and the watchdog, as a broker failure would.
        redis.Redis.from_url(env["FORGE_BROKER_URL"]).delete("forge")
        watchdog.watch_batch.delay(batch_id)
        pool.start("worker1")
        try:
            report = wait_for_report(batch_id, timeout_s=120)
            created = box.instances()
        finally:
            pool.stop_all()

    assert report["counts"] == {"protected": 3}, pool.logs()
    assert report["status"] == "completed"
    assert len(created) == 6
