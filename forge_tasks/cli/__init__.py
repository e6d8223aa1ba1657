"""The ``forge-tasks`` command.

Each subcommand lives in a module of this package; ``main`` parses the
arguments, configures logging, and turns any ``ForgeError`` into
``TypeName: message`` on stderr with exit status 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from forge_tasks.errors import ForgeError


def build_parser() -> argparse.ArgumentParser:
    from forge_tasks.cli import accounts, batch, demo, services

    parser = argparse.ArgumentParser(
        prog="forge-tasks",
        description="Provision primary/standby VPS pairs through GatewayForge.",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log at DEBUG level"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    batch.register(commands)
    accounts.register(commands)
    services.register(commands)
    demo.register(commands)
    return parser


# Commands that read or write the store; their tables are created first.
STORE_COMMANDS = frozenset({"batch", "account", "audit", "commander", "worker"})


def _prepare_store() -> None:
    from forge_tasks.runtime import ensure_state_dir
    from forge_tasks.store.engine import create_tables

    ensure_state_dir()
    create_tables()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        # Submit validates its file before it touches the store, so that a bad
        # file leaves nothing behind; it creates the tables itself.
        submitting = args.command == "batch" and args.action == "submit"
        if args.command in STORE_COMMANDS and not submitting:
            _prepare_store()
        result: int = args.handler(args)
    except ForgeError as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        detail = str(exc.orig if isinstance(exc, DBAPIError) else exc).splitlines()[0]
        print(
            f"StoreError: the store failed: {detail}; check FORGE_DATABASE_URL "
            "and that the database exists",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130
    return result
