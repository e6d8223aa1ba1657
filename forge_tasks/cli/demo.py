"""``forge-tasks demo``: the sandbox, a worker and a 20-account batch, end to end.

The demo needs no Redis or PostgreSQL unless FORGE_BROKER_URL (or
FORGE_DATABASE_URL) is set. Every run gets a fresh store in a new temporary
folder, generated secrets and a free port, and stops what it started.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from forge_tasks.errors import ForgeError
from forge_tasks.runtime import reload_settings

DEMO_TIME_SCALE = 240.0
DEMO_ACCOUNTS = 20
DEMO_APPROVED_COST_EUR = Decimal(2000)
STARTUP_TIMEOUT_S = 60.0
BATCH_TIMEOUT_S = 300.0
DEMO_PAIRS = ("eu-default", "eu-redundancy", "us", "budget-eu")
DEMO_TIERS = ("standard", "budget", "enterprise", "standard")


class DemoError(ForgeError):
    """Raised when a demo service does not start or the batch does not finish."""


def register(commands: Any) -> None:
    demo = commands.add_parser(
        "demo", help="run the sandbox, a worker and a 20-account batch end to end"
    )
    demo.add_argument(
        "--scenario",
        type=Path,
        default=None,
        help="sandbox scenario (default: config/scenarios/demo.json)",
    )
    demo.add_argument(
        "--time-scale",
        type=float,
        default=DEMO_TIME_SCALE,
        help=f"runbook seconds per wall-clock second (default {DEMO_TIME_SCALE:g})",
    )
    demo.set_defaults(handler=demo_command)


def sample_rows() -> str:
    """Return a 20-account CSV spread over the four default pairs."""
    lines = ["account_id,tier,pair"]
    for index in range(DEMO_ACCOUNTS):
        pair = DEMO_PAIRS[index % len(DEMO_PAIRS)]
        tier = DEMO_TIERS[(index // len(DEMO_PAIRS)) % len(DEMO_TIERS)]
        if pair == "budget-eu":
            tier = "budget"
        lines.append(f"demo-{index + 1:02d},{tier},{pair}")
    return "\n".join(lines) + "\n"


def demo_command(args: argparse.Namespace) -> int:
    from forge_tasks.domain.catalogue import config_dir

    scenario = args.scenario or config_dir() / "scenarios" / "demo.json"
    with tempfile.TemporaryDirectory(prefix="forge-demo-") as folder:
        env = _demo_environment(Path(folder), args.time_scale)
        os.environ.update(env)
        reload_settings()
        with _process(
            [
                sys.executable,
                "-m",
                "forge_tasks",
                "sandbox",
                "--port",
                env["_PORT"],
                "--scenario",
                str(scenario),
            ],
            Path(folder) / "sandbox.log",
        ):
            _wait_for_sandbox(env["FORGE_GATEWAYFORGE_URL"])
            with _process(
                [
                    sys.executable,
                    "-m",
                    "forge_tasks",
                    "worker",
                    "--pool",
                    "threads",
                    "--concurrency",
                    "8",
                ],
                Path(folder) / "worker.log",
            ):
                return _run_batch(Path(folder), env["FORGE_GATEWAYFORGE_URL"])


def _demo_environment(folder: Path, time_scale: float) -> dict[str, str]:
    from forge_tasks.webhooks import generate_secret

    port = str(_free_port())
    base = f"http://127.0.0.1:{port}"
    return {
        "FORGE_STATE_DIR": str(folder / "state"),
        # Every run starts from a fresh store of its own, even when
        # FORGE_BROKER_URL points the broker at a real Redis.
        "FORGE_DATABASE_URL": f"sqlite:///{folder / 'state' / 'store.db'}",
        "FORGE_EMBEDDED_DEMO": "true",
        "FORGE_TIME_SCALE": str(time_scale),
        "FORGE_GATEWAYFORGE_URL": base,
        "FORGE_GATEWAYFORGE_API_KEY": "gf_" + secrets.token_urlsafe(24),
        "FORGE_COMPANION_URL": f"{base}/companion/webhooks",
        "FORGE_COMPANION_SECRET": generate_secret(),
        "FORGE_COMMANDER_URL": f"{base}/commander/notifications",
        "_PORT": port,
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _process(command: list[str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_sandbox(base_url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base_url}/sandbox/scenario", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise DemoError(
        f"the sandbox at {base_url} did not respond within {STARTUP_TIMEOUT_S:g} s"
    )


def _run_batch(folder: Path, base_url: str) -> int:
    from forge_tasks.domain.batch_file import parse_batch_file
    from forge_tasks.reporting import batch_progress, batch_status, is_finished
    from forge_tasks.store.engine import create_tables
    from forge_tasks.submission import pair_names, submit_batch

    csv_path = folder / "demo-batch.csv"
    csv_path.write_text(sample_rows())
    rows = parse_batch_file(
        csv_path.read_text(), pair_names=pair_names(), approved_count=DEMO_ACCOUNTS
    )
    create_tables()
    submitted = submit_batch(
        rows,
        approved_count=DEMO_ACCOUNTS,
        approved_cost_eur=DEMO_APPROVED_COST_EUR,
        source=str(csv_path),
    )
    print(
        f"batch {submitted.batch_id}: {submitted.size} accounts submitted "
        f"(estimated {submitted.estimated_cost_eur} EUR/month)"
    )

    started = time.monotonic()
    last_done = -1
    while True:
        figures = batch_progress(submitted.batch_id)
        if figures["done"] != last_done:
            last_done = figures["done"]
            print(
                f"  {figures['done']:>2}/{figures['size']} done, "
                f"{figures['in_flight']} in flight, {figures['protected']} protected"
            )
        if is_finished(figures):
            break
        if time.monotonic() - started > BATCH_TIMEOUT_S:
            raise DemoError(
                f"batch {submitted.batch_id} did not finish within {BATCH_TIMEOUT_S:g} s; "
                f"see the logs in {folder}"
            )
        time.sleep(0.5)

    report = batch_status(submitted.batch_id)["report"]
    _print_report(report)
    return _check_instances(submitted.batch_id, base_url)


def _print_report(report: dict[str, Any]) -> None:
    print(f"\nreport for batch {report['batch_id']} ({report['status']}):")
    for row in report["accounts"]:
        reason = f"  reason: {row['reason']}" if row["reason"] else ""
        print(
            f"  {row['account_id']:<10} {row['outcome']:<32} "
            f"{row['primary']} -> {row['standby']}{reason}"
        )
    print(f"counts: {report['counts']}")
    print(
        f"failure rate: {report['failure_rate_percent']}%  "
        f"durations (ms): {report['duration_ms']}"
    )


def _check_instances(batch_id: str, base_url: str) -> int:
    """Compare the store's instances with the ones the sandbox created."""
    from forge_tasks.reporting import instance_rows

    stored = instance_rows(batch_id)
    created = requests.get(f"{base_url}/sandbox/instances", timeout=10).json()
    created_ids = {item["instance_id"] for item in created}
    stored_ids = {row["instance_id"] for row in stored}
    keys = [(r["account_id"], r["role"], r["attempt"]) for r in stored]
    ok = stored_ids == created_ids and len(keys) == len(set(keys))
    print(
        f"instances: {len(stored_ids)} in the store, {len(created_ids)} created by "
        f"the sandbox, {'identical' if stored_ids == created_ids else 'DIFFERENT'}; "
        f"one instance per account, role and attempt: "
        f"{'yes' if len(keys) == len(set(keys)) else 'NO'}"
    )
    return 0 if ok else 1
