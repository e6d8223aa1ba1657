"""Run the sandbox: ``python -m forge_tasks.sandbox --port 8790 --scenario FILE``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from forge_tasks.errors import ConfigurationError
from forge_tasks.sandbox.server import DEFAULT_HOST, DEFAULT_PORT, run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m forge_tasks.sandbox",
        description="Serve the simulated GatewayForge API.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port")
    parser.add_argument(
        "--scenario", type=Path, default=None,
        help="scenario JSON file (default: no faults)",
    )  # fmt: skip
    parser.add_argument(
        "--time-scale", type=float, default=None,
        help="runbook seconds per wall-clock second (default: FORGE_TIME_SCALE)",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=int, default=None,
        help="random seed; overrides the scenario's seed",
    )  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        run(args.host, args.port, args.scenario, args.time_scale, args.seed)
    except ConfigurationError as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
