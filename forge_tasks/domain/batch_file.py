"""Parsing and validating a batch CSV file, with no I/O beyond the text given.

The file has exactly the columns ``account_id``, ``tier`` and ``pair``, one row
per account. Every problem is reported with its line number, and a file with
any problem is rejected whole.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from forge_tasks.errors import InputError
from forge_tasks.gatewayforge.models import Tier

COLUMNS = ("account_id", "tier", "pair")
ACCOUNT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MAX_ERRORS_SHOWN = 20
# Limits of the store's columns: counts are 32-bit integers, and euro amounts
# have 10 digits before the decimal point and 2 after.
MAX_COUNT = 2**31 - 1
MAX_COST_EUR = Decimal("9999999999.99")


@dataclass(frozen=True)
class BatchRow:
    """One row of a batch file."""

    account_id: str
    tier: Tier
    pair: str
    line: int


def parse_batch_file(
    text: str, *, pair_names: Collection[str], approved_count: int
) -> list[BatchRow]:
    """Parse the CSV text, raising InputError that names every bad line."""
    if not 1 <= approved_count <= MAX_COUNT:
        raise InputError(
            f"--approved-count must be between 1 and {MAX_COUNT}, got {approved_count}"
        )
    if not text.strip():
        raise InputError(
            "line 1: the file is empty; expected the header " + ",".join(COLUMNS)
        )
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip() for cell in next(reader)]
    _check_header(header)

    errors: list[str] = []
    rows: list[BatchRow] = []
    seen: dict[str, int] = {}
    # The line of every non-blank row, valid or not, so that the count error can
    # name the first row over the approved count even after blank lines.
    row_lines: list[int] = []
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        row_lines.append(line)
        row, error = _parse_row(cells, line, pair_names)
        if error:
            errors.append(error)
            continue
        assert row is not None
        if row.account_id in seen:
            errors.append(
                f"line {line}: duplicate account_id {row.account_id!r} "
                f"(first on line {seen[row.account_id]})"
            )
            continue
        seen[row.account_id] = line
        rows.append(row)

    if not rows and not errors:
        raise InputError("line 2: the file has a header but no accounts")
    if len(row_lines) > approved_count:
        # First, so that the cut to MAX_ERRORS_SHOWN never hides it.
        errors.insert(
            0,
            f"line {row_lines[approved_count]}: the file has "
            f"{len(row_lines)} accounts but --approved-count is "
            f"{approved_count}; remove rows or raise the approved count",
        )
    if errors:
        raise InputError(_join_errors(errors))
    return rows


def _check_header(header: list[str]) -> None:
    missing = [c for c in COLUMNS if c not in header]
    extra = [c for c in header if c not in COLUMNS]
    problems = []
    if missing:
        problems.append("missing column " + ", ".join(missing))
    if extra:
        problems.append("unexpected column " + ", ".join(repr(c) for c in extra))
    if not problems and len(header) != len(COLUMNS):
        problems.append("a column is repeated")
    if problems:
        raise InputError(
            "line 1: "
            + "; ".join(problems)
            + f"; the header must be exactly {','.join(COLUMNS)}"
        )
    if tuple(header) != COLUMNS:
        raise InputError(
            f"line 1: the columns must be in the order {','.join(COLUMNS)}"
        )


def _parse_row(
    cells: list[str], line: int, pair_names: Collection[str]
) -> tuple[BatchRow | None, str | None]:
    if len(cells) != len(COLUMNS):
        return None, f"line {line}: expected {len(COLUMNS)} values, got {len(cells)}"
    account_id, tier, pair = (cell.strip() for cell in cells)
    if not ACCOUNT_ID_PATTERN.match(account_id):
        return None, (
            f"line {line}: invalid account_id {account_id!r}; use 1-128 letters, "
            "digits, '.', '_' or '-', starting with a letter or digit"
        )
    if tier not in {t.value for t in Tier}:
        allowed = ", ".join(t.value for t in Tier)
        return None, f"line {line}: unknown tier {tier!r}; use one of {allowed}"
    if pair not in pair_names:
        allowed = ", ".join(sorted(pair_names))
        return None, f"line {line}: unknown pair {pair!r}; use one of {allowed}"
    return BatchRow(account_id, Tier(tier), pair, line), None


def _join_errors(errors: list[str]) -> str:
    shown = errors[:MAX_ERRORS_SHOWN]
    more = len(errors) - len(shown)
    text = "invalid batch file:\n  " + "\n  ".join(shown)
    if more:
        text += f"\n  ... and {more} more"
    return text
