"""The runbook's placement, retry and preflight rules, run by workers on the sandbox.

Each test runs one scenario from config/scenarios/ (some change it mid-batch with
PUT /sandbox/scenario) and checks both the outcome and the audit trail that
explains it. The store is SQLite only, to keep the module fast; the end-to-end
tests cover PostgreSQL.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import redis
from batch_helpers import outcomes, submit
from harness import Sandbox, Workers, sandbox, wait_until
from rules_helpers import (
    account_statuses,
    actions,
    audit_lines,
    batch_events,
    finished_report,
    first_line,
    provision_posts,
    region,
    run_cli,
    sandbox_instances,
    scenario_document,
    wait_for_delivery,
    wait_for_report_outcome,
)

from forge_tasks.domain.catalogue import may_share_city
from forge_tasks.errors import CommanderInstructionError, NotFoundError
from forge_tasks.reporting import batch_status, commander_inbox
from forge_tasks.submission import PreflightRejectedError
from forge_tasks.tasks.commander import retry_account

pytestmark = pytest.mark.integration


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def assert_nothing_submitted(
    error: PreflightRejectedError, box: Sandbox, redis_url: str
) -> None:
    """Check that a refused batch left no batch row, no message and no provision."""
    with pytest.raises(NotFoundError):
        batch_status(error.batch_id)
    assert redis.Redis.from_url(redis_url).dbsize() == 0
    assert provision_posts(box) == []
    refused = [d for a, d in batch_events(error.batch_id) if a == "preflight_refused"]
    assert refused == [{"reasons": error.reasons}]


# A region incident at submit.


def test_region_incidents_move_both_roles(
    forge_env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    with sandbox(forge_env, tmp_path, "region-incident") as box:
        workers.start()
        report = finished_report(workers, submit([("ri-01", "standard", "eu-default")]))
        created = sandbox_instances(box, "ri-01")
        lines = audit_lines(forge_env, "ri-01")

    (row,) = report["accounts"]
    primary, standby = region(row["primary"]), region(row["standby"])
    assert row["outcome"] == "protected", workers.logs()
    assert primary.provider == "hetzner"
    assert primary.id != "nbg1"
    assert standby.provider == "vultr"
    assert standby.id != "ams"
    assert not may_share_city(standby, primary)
    assert {(i["role"], f"{i['provider']}/{i['region']}") for i in created} == {
        ("primary", row["primary"]),
        ("standby", row["standby"]),
    }

    planned = first_line(lines, "placement_planned")
    assert planned.details["primary"] == row["primary"]
    assert planned.details["standby"] == row["standby"]
    primary_moves = [
        m for m in planned.details["moves"] if "primary: moved from hetzner/nbg1" in m
    ]
    standby_moves = [
        m for m in planned.details["moves"] if "standby: moved from vultr/ams" in m
    ]
    assert len(primary_moves) == 1
    primary_why = f"to {row['primary']} because hetzner/nbg1 has an active incident"
    assert primary_why in primary_moves[0]
    assert "Server creation delayed in Nuremberg (nbg1)" in primary_moves[0]
    assert len(standby_moves) == 1
    standby_why = f"to {row['standby']} because vultr/ams has an active incident"
    assert standby_why in standby_moves[0]
    assert "Amsterdam Scheduled Maintenance" in standby_moves[0]
    assert "provider_switched" not in actions(lines)


def test_every_hetzner_region_down_switches_provider(
    forge_env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    # An incident in each region, with none on the whole provider, still counts
    # as a provider incident, so the primary leaves Hetzner at planning time.
    with sandbox(forge_env, tmp_path, "hetzner-every-region-incident") as box:
        workers.start()
        report = finished_report(
            workers, submit([("all-01", "standard", "eu-default")])
        )
        created = sandbox_instances(box, "all-01")
        lines = audit_lines(forge_env, "all-01")
        inbox = commander_inbox()

    (row,) = report["accounts"]
    assert row["outcome"] == "protected", workers.logs()
    assert region(row["primary"]).provider not in ("hetzner", "vultr")
    assert row["standby"] == "vultr/ams"
    assert all(i["provider"] != "hetzner" for i in created)
    (move,) = first_line(lines, "placement_planned").details["moves"]
    assert f"switched from hetzner/nbg1 to {row['primary']}" in move
    assert "active incidents in every region: ash, fsn1, hel1, hil, nbg1, sin" in move
    switch_notes = [n for n in inbox if n["kind"] == "provider_switched"]
    assert len(switch_notes) == 1
    assert switch_notes[0]["account_id"] == "all-01"


def test_no_region_left_refuses_the_batch(
    forge_env: dict[str, str], redis_db: str, tmp_path: Path
) -> None:
    # Hetzner nbg1 is free but may share Contabo EU's city, so the budget-eu
    # standby has nowhere to go, and the eu-default account does not save the batch.
    rows = [("nr-01", "budget", "budget-eu"), ("nr-02", "standard", "eu-default")]
    with sandbox(forge_env, tmp_path, "hetzner-incidents-except-nbg1") as box:
        with pytest.raises(PreflightRejectedError) as refused:
            submit(rows)
        assert_nothing_submitted(refused.value, box, redis_db)

    (reason,) = refused.value.reasons
    assert reason.startswith("region availability: account nr-01: standby hetzner/fsn1")
    assert "no other hetzner region fits" in reason
    assert "hetzner/nbg1 (Nuremberg) may be in the primary's city" in reason
    assert "nr-02" not in reason


# Two regions of one provider failing every provision.

ESCALATION_ROWS = [
    ("esc-primary", "standard", "eu-default"),
    ("esc-standby", "budget", "budget-eu"),
    ("ok-us", "standard", "us"),
]


def test_escalation_then_retry_protects(
    forge_env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    with sandbox(forge_env, tmp_path, "two-failing-hetzner-regions") as box:
        workers.start()
        batch_id = submit(ESCALATION_ROWS)
        report = finished_report(workers, batch_id)
        wait_for_delivery(box, "escalated", "esc-primary")
        inbox = commander_inbox(batch_id)
        failed_attempts = sandbox_instances(box, "esc-primary", "primary")
        escalated_lines = audit_lines(forge_env, "esc-primary")

        retry = run_cli(
            ["account", "retry", "esc-primary", "--region", "hel1"], forge_env
        )
        retry_account("esc-standby", provider="vultr", region="ams")
        wait_for_report_outcome(workers, batch_id, "esc-primary", "protected")
        wait_for_report_outcome(workers, batch_id, "esc-standby", "protected")
        final = batch_status(batch_id)["report"]
        retried_lines = audit_lines(forge_env, "esc-primary")

    assert outcomes(report) == {
        "esc-primary": "awaiting_commander (escalated)",
        "esc-standby": "awaiting_commander (escalated)",
        "ok-us": "protected",
    }, workers.logs()
    assert [(i["region"], i["status"]) for i in failed_attempts] == [
        ("nbg1", "FAILED"),
        ("fsn1", "FAILED"),
    ]

    failures = [line for line in escalated_lines if line.action == "attempt_failed"]
    assert [line.details["region"] for line in failures] == ["nbg1", "fsn1"]
    assert "resource_unavailable" in failures[1].details["reason"]
    moved = first_line(escalated_lines, "region_moved")
    assert moved.details["from"] == "hetzner/nbg1"
    assert moved.details["to"] == "hetzner/fsn1"
    assert moved.details["why"].endswith("because the attempt in hetzner/nbg1 failed")
    escalated = first_line(escalated_lines, "awaiting_commander_escalated")
    assert escalated.details["reason"].startswith("attempt 2 failed too")
    assert "fsn1" in escalated.details["reason"]
    assert "provider_switched" not in actions(escalated_lines)

    stored = [n for n in inbox if n["account_id"] == "esc-primary"]
    assert [n["kind"] for n in stored] == ["escalated"]
    assert "attempt 2 failed too" in stored[0]["message"]
    assert stored[0]["delivered"] is True

    assert retry.returncode == 0, retry.stderr
    assert "primary retry queued in hetzner/hel1" in retry.stdout
    rows = {row["account_id"]: row for row in final["accounts"]}
    assert rows["esc-primary"]["primary"] == "hetzner/hel1"
    assert rows["esc-standby"]["standby"] == "vultr/ams"
    instruction = first_line(retried_lines, "commander_retry")
    assert instruction.actor == "cli"
    assert instruction.details == {
        "role": "primary",
        "region": "hetzner/hel1",
        "was_awaiting": "escalated",
    }
    intents = [line for line in retried_lines if line.action == "provision_primary"]
    assert [line.details["region"] for line in intents] == ["nbg1", "fsn1", "hel1"]
    assert "provision_complete" in actions(retried_lines)


def test_rule_breaking_instructions_rejected(
    forge_env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    with sandbox(forge_env, tmp_path, "two-failing-hetzner-regions") as box:
        workers.start()
        batch_id = submit(ESCALATION_ROWS)
        finished_report(workers, batch_id)
        calls_before = len(provision_posts(box))

        with pytest.raises(CommanderInstructionError) as not_waiting:
            retry_account("ok-us", region="ewr")
        with pytest.raises(CommanderInstructionError) as unknown_region:
            retry_account("esc-primary", region="nbg1-not-a-region")
        with pytest.raises(CommanderInstructionError) as same_city:
            retry_account("esc-standby", provider="hetzner", region="nbg1")
        with pytest.raises(CommanderInstructionError) as onto_standby:
            retry_account("esc-primary", provider="vultr", region="ams")
        from_cli = run_cli(
            ["account", "retry", "esc-primary", "--region", "nbg1-not-a-region"],
            forge_env,
        )
        statuses = account_statuses(batch_id)
        calls_after = len(provision_posts(box))

    assert "is protected, not awaiting the Commander" in str(not_waiting.value)
    assert "nbg1-not-a-region" in str(unknown_region.value)
    assert "standby in hetzner/nbg1 breaks a placement rule" in str(same_city.value)
    assert "may be in the primary's city (contabo/EU" in str(same_city.value)
    assert "primary in vultr/ams breaks a placement rule" in str(onto_standby.value)
    assert "planned standby vultr/ams is on the same provider" in str(
        onto_standby.value
    )
    assert from_cli.returncode == 1
    assert "CommanderInstructionError:" in from_cli.stderr
    assert "nbg1-not-a-region" in from_cli.stderr
    assert statuses == {
        "esc-primary": "awaiting_commander",
        "esc-standby": "awaiting_commander",
        "ok-us": "protected",
    }
    assert calls_after == calls_before


# A provider-wide incident mid-batch.


def test_mid_batch_incident_switches_later_accounts(
    forge_env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    rows = [(f"mid-{index:02d}", "standard", "eu-default") for index in range(6)]
    with sandbox(forge_env, tmp_path, "default") as box:
        workers.start()
        batch_id = submit(rows, concurrency=2)
        wait_until(
            lambda: list(account_statuses(batch_id).values()).count("protected") >= 2,
            timeout_s=60,
            what="the first two accounts to be protected",
        )
        protected_before = [
            a for a, s in account_statuses(batch_id).items() if s == "protected"
        ]
        box.put_scenario(scenario_document("provider-incident"))
        # These accounts place their primary after the incident is published.
        pending = [a for a, s in account_statuses(batch_id).items() if s == "pending"]
        report = finished_report(workers, batch_id)
        for account_id in pending:
            wait_for_delivery(box, "provider_switched", account_id)
        created = box.instances()
        lines = {
            account_id: audit_lines(forge_env, account_id) for account_id in pending
        }
        inbox = commander_inbox(batch_id)

    assert pending, "every account started before the incident; nothing to check"
    assert outcomes(report) == {a: "protected" for a, _, _ in rows}, workers.logs()
    rows_by_account = {row["account_id"]: row for row in report["accounts"]}
    for account_id in protected_before:
        assert rows_by_account[account_id]["primary"] == "hetzner/nbg1"

    for account_id in pending:
        row = rows_by_account[account_id]
        provider = region(row["primary"]).provider
        assert provider not in ("hetzner", "vultr"), account_id
        assert row["standby"] == "vultr/ams"
        hetzner_instances = [
            i
            for i in created
            if i["account_id"] == account_id and i["provider"] == "hetzner"
        ]
        assert hetzner_instances == [], account_id

        switched = first_line(lines[account_id], "provider_switched")
        assert switched.details["role"] == "primary"
        assert switched.details["from"] == "hetzner/nbg1"
        assert switched.details["to"] == row["primary"]
        assert "status.indicator 'critical'" in switched.details["evidence"]
        assert "hetzner has a confirmed provider incident" in switched.details["why"]
        kinds = [n["kind"] for n in inbox if n["account_id"] == account_id]
        assert kinds == ["provider_switched"], account_id


def test_primary_switch_avoids_standby_provider(
    forge_env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    # The incident appears between submit and the first call, so the switch is
    # decided at provision time. DigitalOcean is unhealthy, so the best provider
    # left is Vultr, which is the standby's provider and must be passed over.
    with sandbox(forge_env, tmp_path, "default") as box:
        batch_id = submit([("avoid-01", "standard", "eu-default")])
        box.put_scenario(scenario_document("hetzner-incident-digitalocean-unhealthy"))
        workers.start()
        report = finished_report(workers, batch_id)
        lines = audit_lines(forge_env, "avoid-01")

    (row,) = report["accounts"]
    assert row["outcome"] == "protected", workers.logs()
    assert row["standby"] == "vultr/ams"
    assert region(row["primary"]).provider == "contabo"
    switched = first_line(lines, "provider_switched")
    assert switched.details["to"] == row["primary"]
    assert (
        "digitalocean: digitalocean health score 70 is below 75"
        in (switched.details["rejected"])
    )


# The standby's provider under an incident after the primary is up.


def test_standby_provider_incident_switches_standby(
    forge_env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    with sandbox(forge_env, tmp_path, "slow-provisions-10min") as box:
        workers.start()
        batch_id = submit([("sb-01", "standard", "us")])
        # Waiting for ACTIVE itself races the worker, which places the standby
        # within one poll of it. With the config pushed, the primary still has
        # 60 % of its 10 minutes (1.5 s at time scale 240) before it is ACTIVE.
        wait_until(
            lambda: any(
                i["config_pushed_at"]
                for i in sandbox_instances(box, "sb-01", "primary")
            ),
            timeout_s=30,
            interval_s=0.05,
            what="the primary of sb-01 to receive its config",
        )
        box.put_scenario(scenario_document("digitalocean-incident-slow"))
        standby_before = sandbox_instances(box, "sb-01", "standby")
        report = finished_report(workers, batch_id)
        wait_for_delivery(box, "provider_switched", "sb-01")
        created = sandbox_instances(box, "sb-01")
        lines = audit_lines(forge_env, "sb-01")
        inbox = commander_inbox(batch_id)

    assert standby_before == [], "the standby was placed before the incident"
    (row,) = report["accounts"]
    assert row["outcome"] == "protected", workers.logs()
    assert row["primary"] == "vultr/ewr"
    standby = region(row["standby"])
    assert standby.provider not in ("vultr", "digitalocean")
    assert "New York" not in standby.possible_cities()
    assert not may_share_city(standby, region(row["primary"]))
    assert {(i["role"], i["provider"], i["status"]) for i in created} == {
        ("primary", "vultr", "ACTIVE"),
        ("standby", standby.provider, "ACTIVE"),
    }

    order = actions(lines)
    switched = first_line(lines, "provider_switched")
    assert switched.details["role"] == "standby"
    assert switched.details["from"] == "digitalocean/nyc3"
    assert switched.details["to"] == row["standby"]
    assert "status.indicator 'critical'" in switched.details["evidence"]
    assert order.index("health_checked") < order.index("provider_switched")
    assert [n["kind"] for n in inbox if n["account_id"] == "sb-01"] == [
        "provider_switched"
    ]


# Quota and cost at submit.


def test_small_quota_refuses_the_batch(
    forge_env: dict[str, str], redis_db: str, tmp_path: Path
) -> None:
    rows = [(f"q-{index}", "standard", "eu-default") for index in range(3)]
    with sandbox(forge_env, tmp_path, "small-quota") as box:
        with pytest.raises(PreflightRejectedError) as refused:
            submit(rows)
        assert_nothing_submitted(refused.value, box, redis_db)

    hetzner, vultr = refused.value.reasons
    assert hetzner == (
        "quota headroom: the batch needs 3 hetzner instances but only 1 are free "
        "(limit 101, used 100)"
    )
    assert vultr == (
        "quota headroom: the batch needs 3 vultr instances but only 2 are free "
        "(limit 102, used 100)"
    )


def test_cost_over_approval_refuses_the_batch(
    forge_env: dict[str, str], redis_db: str, tmp_path: Path
) -> None:
    rows = [("c-1", "standard", "eu-default"), ("c-2", "standard", "us")]
    with sandbox(forge_env, tmp_path, "default") as box:
        with pytest.raises(PreflightRejectedError) as refused:
            submit(rows, approved_cost_eur=Decimal(1))
        assert_nothing_submitted(refused.value, box, redis_db)

    (reason,) = refused.value.reasons
    assert reason.startswith("operator authorization: the estimated monthly cost")
    assert reason.endswith("exceeds the approved 1.00 EUR")
