"""Helpers for the runbook rule tests: the CLI, audit lines, store and sandbox reads."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from batch_helpers import wait_for_report
from harness import ROOT, SCENARIOS, Sandbox, Workers, wait_until

from forge_tasks.domain.catalogue import Region
from forge_tasks.reporting import batch_status
from forge_tasks.store import audit as audit_store
from forge_tasks.store import batches as batch_store
from forge_tasks.store.engine import session_scope
from forge_tasks.tasks.placing import reference_data

# Characters of the workers' logs that a timed-out wait adds to its error.
WORKER_LOG_TAIL_CHARS = 8000


@dataclass(frozen=True)
class AuditLine:
    """One line of ``forge-tasks audit ACCOUNT``: the action and its parsed details."""

    actor: str
    action: str
    details: dict[str, Any]


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "forge_tasks", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def audit_lines(env: dict[str, str], account_id: str) -> list[AuditLine]:
    """Run ``forge-tasks audit`` and parse its lines: at, batch, actor, action, JSON."""
    result = run_cli(["audit", account_id], env)
    assert result.returncode == 0, result.stderr
    lines = []
    for text in result.stdout.splitlines():
        _at, _batch, actor, action, details = text.split(None, 4)
        lines.append(AuditLine(actor, action, json.loads(details)))
    return lines


def actions(lines: list[AuditLine]) -> list[str]:
    return [line.action for line in lines]


def first_line(lines: list[AuditLine], action: str) -> AuditLine:
    matches = [line for line in lines if line.action == action]
    assert matches, f"no {action} event in {actions(lines)}"
    return matches[0]


def batch_events(batch_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Return the batch's audit events that name no account, as (action, details)."""
    with session_scope() as session:
        events = audit_store.list_audit_events(session=session, batch_id=batch_id)
        return [(e.action, e.details) for e in events if e.account_id is None]


def account_statuses(batch_id: str) -> dict[str, str]:
    with session_scope() as session:
        accounts = batch_store.list_accounts(session=session, batch_id=batch_id)
        return {a.account_id: a.status for a in accounts}


def report_outcome(batch_id: str, account_id: str) -> str | None:
    """Return the account's outcome in the batch's stored report, if there is one."""
    report = batch_status(batch_id)["report"]
    if report is None:
        return None
    rows = [row for row in report["accounts"] if row["account_id"] == account_id]
    return str(rows[0]["outcome"]) if rows else None


def with_worker_logs(workers: Workers, error: AssertionError) -> AssertionError:
    return AssertionError(f"{error}\n{workers.logs()[-WORKER_LOG_TAIL_CHARS:]}")


def finished_report(workers: Workers, batch_id: str) -> dict[str, Any]:
    """Wait for the batch's final report, and add the workers' logs to a timeout."""
    try:
        return wait_for_report(batch_id)
    except AssertionError as error:
        raise with_worker_logs(workers, error) from None


def wait_for_report_outcome(
    workers: Workers, batch_id: str, account_id: str, outcome: str
) -> None:
    try:
        wait_until(
            lambda: report_outcome(batch_id, account_id) == outcome,
            timeout_s=60,
            what=f"the report of batch {batch_id} to show {account_id} {outcome}",
        )
    except AssertionError as error:
        raise with_worker_logs(workers, error) from None


def provision_posts(box: Sandbox) -> list[dict[str, Any]]:
    return [
        r
        for r in box.requests_log()
        if r["method"] == "POST" and r["path"] == "/v1/provisions"
    ]


def sandbox_instances(
    box: Sandbox, account_id: str, role: str | None = None
) -> list[dict[str, Any]]:
    return [
        i
        for i in box.instances()
        if i["account_id"] == account_id and role in (None, i["role"])
    ]


def delivered_notifications(
    box: Sandbox, kind: str, account_id: str
) -> list[dict[str, Any]]:
    """Return the bodies of the Commander notifications of this kind in the sandbox."""
    bodies = [entry["body"] for entry in box.get("/sandbox/commander-notifications")]
    return [
        body
        for body in bodies
        if body.get("kind") == kind and body.get("account_id") == account_id
    ]


def wait_for_delivery(box: Sandbox, kind: str, account_id: str) -> None:
    """Wait until the sandbox received a Commander notification of this kind."""
    wait_until(
        lambda: delivered_notifications(box, kind, account_id),
        timeout_s=30,
        what=f"a {kind} notification about {account_id} to reach the Commander",
    )


def scenario_document(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SCENARIOS / f"{name}.json").read_text())
    return document


def region(key: str) -> Region:
    """Return the catalogue region of a ``provider/id`` key."""
    provider, region_id = key.split("/", 1)
    return reference_data().catalogue.get(provider, region_id)
