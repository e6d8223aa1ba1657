"""``forge-tasks account …``, ``forge-tasks audit`` and ``forge-tasks commander inbox``."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(commands: Any) -> None:
    account = commands.add_parser(
        "account", help="answer an account awaiting the Commander"
    )
    actions = account.add_subparsers(dest="action", required=True, metavar="ACTION")
    retry = actions.add_parser("retry", help="retry the account's waiting role")
    retry.add_argument("account_id", help="the account awaiting the Commander")
    retry.add_argument(
        "--provider",
        default=None,
        help="provider for the retry: hetzner, vultr, digitalocean or contabo "
        "(default: the current one; needs --region)",
    )
    retry.add_argument(
        "--region",
        default=None,
        help="region id from config/regions.json, e.g. fsn1 (default: the current one)",
    )
    retry.add_argument(
        "--batch",
        default=None,
        help="batch id (default: the account's most recent batch)",
    )
    retry.set_defaults(handler=retry_command)
    abandon = actions.add_parser("abandon", help="end the account as failed")
    abandon.add_argument("account_id", help="the account awaiting the Commander")
    abandon.add_argument(
        "--batch",
        default=None,
        help="batch id (default: the account's most recent batch)",
    )
    abandon.set_defaults(handler=abandon_command)

    audit = commands.add_parser("audit", help="print an account's audit trail in order")
    audit.add_argument("account_id", help="account id as in the batch file")
    audit.set_defaults(handler=audit_command)

    commander = commands.add_parser(
        "commander", help="list the Commander's notifications"
    )
    commander_actions = commander.add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    inbox = commander_actions.add_parser(
        "inbox", help="list notifications, oldest first"
    )
    inbox.add_argument("--batch", default=None, help="only this batch's notifications")
    inbox.set_defaults(handler=inbox_command)


def retry_command(args: argparse.Namespace) -> int:
    from forge_tasks.tasks.commander import retry_account

    result = retry_account(
        args.account_id,
        provider=args.provider,
        region=args.region,
        batch_id=args.batch,
        actor="cli",
    )
    print(
        f"account {args.account_id}: {result['role']} retry queued in {result['region']}"
    )
    return 0


def abandon_command(args: argparse.Namespace) -> int:
    from forge_tasks.tasks.commander import abandon_account

    abandon_account(args.account_id, batch_id=args.batch, actor="cli")
    print(f"account {args.account_id}: abandoned, now failed")
    return 0


def audit_command(args: argparse.Namespace) -> int:
    from forge_tasks.errors import NotFoundError
    from forge_tasks.reporting import audit_trail

    events = audit_trail(args.account_id)
    if not events:
        raise NotFoundError(f"no audit events for account {args.account_id}")
    for event in events:
        details = json.dumps(event["details"], sort_keys=True, default=str)
        print(
            f"{event['at']}  {event['batch_id']}  {event['actor']:<11} "
            f"{event['action']:<26} {details}"
        )
    return 0


def inbox_command(args: argparse.Namespace) -> int:
    from forge_tasks.reporting import commander_inbox

    if args.batch:
        from forge_tasks.reporting import batch_status

        batch_status(args.batch)  # raises NotFoundError for an unknown batch id
    for item in commander_inbox(args.batch):
        mark = "sent" if item["delivered"] else "pending"
        print(f"{item['at']}  {item['kind']:<18} {mark:<7} {item['message']}")
    return 0
