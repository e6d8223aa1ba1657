"""``forge-tasks batch …``: submit, status, watch, resume, cancel, failures."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from forge_tasks.domain.batch_file import MAX_COST_EUR, MAX_COUNT
from forge_tasks.errors import InputError, TransientGatewayForgeError

SUBMIT_ATTEMPTS = 3


def register(commands: Any) -> None:
    batch = commands.add_parser("batch", help="submit and follow batches")
    actions = batch.add_subparsers(dest="action", required=True, metavar="ACTION")

    submit = actions.add_parser("submit", help="validate, preflight and enqueue a CSV")
    submit.add_argument("file", type=Path, help="CSV with columns account_id,tier,pair")
    submit.add_argument(
        "--approved-count",
        type=int,
        required=True,
        help="number of accounts (pairs) the operator approved",
    )
    submit.add_argument(
        "--approved-cost",
        type=_euros,
        required=True,
        metavar="EUR",
        help="approved monthly cost of the batch's pairs, in euros",
    )
    submit.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="accounts in flight at once (default: FORGE_BATCH_CONCURRENCY, 5)",
    )
    submit.set_defaults(handler=submit_command)

    for name, handler, text in (
        ("status", status_command, "print a batch's status and report"),
        ("watch", watch_command, "show a live progress bar until the batch ends"),
        ("resume", resume_command, "resume a paused batch"),
        (
            "cancel",
            cancel_command,
            "cancel a batch; accounts not started end cancelled",
        ),
    ):
        parser = actions.add_parser(name, help=text)
        parser.add_argument("batch_id", help="batch id printed by submit")
        parser.set_defaults(handler=handler)

    failures = actions.add_parser(
        "failures", help="list accounts not protected, for manual review"
    )
    failures.add_argument("batch_id", help="batch id printed by submit")
    failures.add_argument(
        "--csv",
        action="store_true",
        help="print the failed and cancelled ones as a CSV in the submit format, "
        "for resubmission; the others are named on stderr",
    )
    failures.set_defaults(handler=failures_command)


def _euros(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    valid = (
        value.is_finite()
        and Decimal(0) <= value <= MAX_COST_EUR
        and int(value.as_tuple().exponent) >= -2
    )
    if not valid:
        raise argparse.ArgumentTypeError(
            f"invalid amount {text!r}: use euros from 0 to {MAX_COST_EUR} "
            "with at most 2 decimals, e.g. 250.00"
        )
    return value


def submit_command(args: argparse.Namespace) -> int:
    from forge_tasks.domain.batch_file import parse_batch_file
    from forge_tasks.settings import get_settings
    from forge_tasks.store.engine import create_tables
    from forge_tasks.submission import pair_names, submit_batch

    get_settings().require_real_secrets()
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {args.file}: {exc}") from exc
    if args.concurrency is not None and not 1 <= args.concurrency <= MAX_COUNT:
        raise InputError(
            f"--concurrency must be between 1 and {MAX_COUNT}, got {args.concurrency}"
        )
    rows = parse_batch_file(
        text, pair_names=pair_names(), approved_count=args.approved_count
    )
    create_tables()
    for attempt in range(1, SUBMIT_ATTEMPTS + 1):
        try:
            submitted = submit_batch(
                rows,
                approved_count=args.approved_count,
                approved_cost_eur=args.approved_cost,
                concurrency=args.concurrency,
                source=str(args.file),
            )
            break
        except TransientGatewayForgeError as exc:
            # Only the preflight's health call raises this, before anything is
            # stored, so trying again is safe.
            if attempt == SUBMIT_ATTEMPTS:
                raise
            print(f"preflight failed ({exc}); trying again", file=sys.stderr)
            time.sleep(attempt)
    print(
        f"batch {submitted.batch_id}: {submitted.size} accounts submitted, "
        f"estimated {submitted.estimated_cost_eur} EUR/month"
    )
    for note in submitted.notes:
        print(f"  moved: {note}")
    print(submitted.batch_id)
    return 0


def status_command(args: argparse.Namespace) -> int:
    from forge_tasks.reporting import batch_status

    print(json.dumps(batch_status(args.batch_id), indent=2, default=str))
    return 0


def watch_command(args: argparse.Namespace) -> int:
    from forge_tasks.reporting import batch_progress, is_finished, render_progress_bar

    while True:
        figures = batch_progress(args.batch_id)
        sys.stdout.write("\r" + render_progress_bar(figures))
        sys.stdout.flush()
        if is_finished(figures):
            sys.stdout.write("\n")
            return 0
        time.sleep(1.0)


def resume_command(args: argparse.Namespace) -> int:
    from forge_tasks.tasks.batches import resume

    print(f"batch {args.batch_id}: {resume(args.batch_id, actor='cli')}")
    return 0


def cancel_command(args: argparse.Namespace) -> int:
    from forge_tasks.tasks.batches import cancel

    print(f"batch {args.batch_id}: {cancel(args.batch_id, actor='cli')}")
    return 0


def failures_command(args: argparse.Namespace) -> int:
    from forge_tasks.reporting import batch_failures

    rows = batch_failures(args.batch_id)
    if args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["account_id", "tier", "pair"])
        for row in rows:
            if row["resubmittable"]:
                writer.writerow([row["account_id"], row["tier"], row["pair"]])
            else:
                print(
                    f"left out {row['account_id']} ({row['outcome']}): it may have "
                    "live instances; answer it with `forge-tasks account retry` or "
                    "`forge-tasks account abandon`",
                    file=sys.stderr,
                )
        return 0
    for row in rows:
        print(
            f"{row['account_id']}\t{row['outcome']}\t{row['last_error'] or '-'}\t"
            f"audit: forge-tasks audit {row['account_id']}"
        )
    if not rows:
        print(f"batch {args.batch_id}: every account is protected")
    return 0
