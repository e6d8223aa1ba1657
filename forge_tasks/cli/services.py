"""``forge-tasks sandbox`` and ``forge-tasks worker``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from forge_tasks.sandbox.server import DEFAULT_HOST, DEFAULT_PORT


def register(commands: Any) -> None:
    sandbox = commands.add_parser(
        "sandbox", help="serve the simulated GatewayForge API"
    )
    sandbox.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST})",
    )
    sandbox.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"TCP port (default {DEFAULT_PORT})",
    )
    sandbox.add_argument(
        "--scenario",
        type=Path,
        default=None,
        help="scenario JSON file, e.g. config/scenarios/failing-region.json "
        "(default: no faults)",
    )
    sandbox.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="runbook seconds per wall-clock second (default: FORGE_TIME_SCALE)",
    )
    sandbox.add_argument(
        "--seed", type=int, default=None, help="random seed (default: the scenario's)"
    )
    sandbox.set_defaults(handler=run_sandbox)

    worker = commands.add_parser("worker", help="run a Celery worker")
    worker.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="worker processes or threads (default: Celery's, the CPU count)",
    )
    worker.add_argument(
        "--pool",
        default="prefork",
        choices=["prefork", "threads", "solo"],
        help="Celery pool type (default prefork)",
    )
    worker.add_argument(
        "--hostname",
        default=None,
        help="Celery node name (default: Celery's, celery@HOST)",
    )
    worker.set_defaults(handler=run_worker)


def run_sandbox(args: argparse.Namespace) -> int:
    from forge_tasks.sandbox.server import run

    logging.getLogger().setLevel(logging.INFO)
    run(args.host, args.port, args.scenario, args.time_scale, args.seed)
    return 0


def run_worker(args: argparse.Namespace) -> int:
    from forge_tasks.celery_app import app
    from forge_tasks.settings import get_settings
    from forge_tasks.store.engine import create_tables, reset_engine

    logging.getLogger().setLevel(logging.INFO)
    get_settings().require_real_secrets()
    create_tables()
    reset_engine()
    argv = ["worker", "--loglevel", "INFO", "--pool", args.pool, "-Q", "forge"]
    if args.concurrency:
        argv += ["--concurrency", str(args.concurrency)]
    if args.hostname:
        argv += ["--hostname", args.hostname]
    app.worker_main(argv)
    return 0
