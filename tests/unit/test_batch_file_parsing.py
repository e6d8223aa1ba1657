"""Tests of batch CSV parsing: every problem is rejected with its line number."""

from __future__ import annotations

import re

import pytest

from forge_tasks.domain.batch_file import BatchRow, parse_batch_file
from forge_tasks.errors import InputError
from forge_tasks.gatewayforge.models import Tier

PAIR_NAMES = frozenset({"eu-default", "budget-eu"})
HEADER = "account_id,tier,pair\n"
ROW_1 = "acct-1,standard,eu-default\n"
ROW_2 = "acct-2,budget,budget-eu\n"
ROW_3 = "acct-3,enterprise,eu-default\n"
MAX_ERRORS_SHOWN = 20


def parse(text: str, approved_count: int = 10) -> list[BatchRow]:
    return parse_batch_file(text, pair_names=PAIR_NAMES, approved_count=approved_count)


def error_of(text: str, approved_count: int = 10) -> str:
    with pytest.raises(InputError) as raised:
        parse(text, approved_count)
    return str(raised.value)


# (file text, approved count, expected part of the message)
REJECTED_FILES = {
    "missing_column": (
        "account_id,tier\nacct-1,standard\n",
        10,
        "line 1: missing column pair",
    ),
    "extra_column": (
        "account_id,tier,pair,notes\nacct-1,standard,eu-default,vip\n",
        10,
        "line 1: unexpected column 'notes'",
    ),
    "repeated_column": (
        "account_id,tier,pair,pair\n",
        10,
        "line 1: a column is repeated",
    ),
    "wrong_order": (
        "tier,account_id,pair\nstandard,acct-1,eu-default\n",
        10,
        "line 1: the columns must be in the order account_id,tier,pair",
    ),
    "unknown_tier": (
        HEADER + ROW_1 + "acct-2,gold,eu-default\n",
        10,
        "line 3: unknown tier 'gold'; use one of budget, standard, enterprise",
    ),
    "unknown_pair": (
        HEADER + "acct-1,standard,mars\n",
        10,
        "line 2: unknown pair 'mars'; use one of budget-eu, eu-default",
    ),
    "duplicate_account_id": (
        HEADER + ROW_1 + ROW_2 + "acct-1,budget,budget-eu\n",
        10,
        "line 4: duplicate account_id 'acct-1' (first on line 2)",
    ),
    "too_few_values": (
        HEADER + "acct-1,standard\n",
        10,
        "line 2: expected 3 values, got 2",
    ),
    "too_many_values": (
        HEADER + "acct-1,standard,eu-default,extra\n",
        10,
        "line 2: expected 3 values, got 4",
    ),
    "more_rows_than_approved": (
        HEADER + ROW_1 + ROW_2 + ROW_3,
        2,
        "line 4: the file has 3 accounts but --approved-count is 2",
    ),
    "empty_file": ("", 10, "line 1: the file is empty"),
    "whitespace_only_file": (" \n\n", 10, "line 1: the file is empty"),
    "header_only": (HEADER, 10, "line 2: the file has a header but no accounts"),
    "header_and_blank_lines": (
        HEADER + "\n\n",
        10,
        "line 2: the file has a header but no accounts",
    ),
}

INVALID_ACCOUNT_IDS = {
    "empty": "",
    "leading_dash": "-acct",
    "leading_dot": ".acct",
    "space": "acct 1",
    "slash": "acct/1",
    "colon": "acct:1",
    "too_long": "a" * 129,
}


@pytest.mark.parametrize(
    ("text", "approved_count", "expected"),
    REJECTED_FILES.values(),
    ids=REJECTED_FILES.keys(),
)
def test_bad_file_is_rejected_naming_the_line(
    text: str, approved_count: int, expected: str
) -> None:
    assert expected in error_of(text, approved_count)


@pytest.mark.parametrize(
    ("text", "approved_count", "expected"),
    REJECTED_FILES.values(),
    ids=REJECTED_FILES.keys(),
)
def test_every_message_line_starts_with_a_line_number(
    text: str, approved_count: int, expected: str
) -> None:
    lines = error_of(text, approved_count).splitlines()
    problems = [line.strip() for line in lines if line != "invalid batch file:"]

    assert problems
    for problem in problems:
        assert re.match(r"line \d+: ", problem), problem


@pytest.mark.parametrize(
    "account_id", INVALID_ACCOUNT_IDS.values(), ids=INVALID_ACCOUNT_IDS.keys()
)
def test_invalid_account_id_is_rejected(account_id: str) -> None:
    message = error_of(HEADER + f"{account_id},standard,eu-default\n")

    assert f"line 2: invalid account_id {account_id!r}" in message


def test_longest_allowed_account_id_is_accepted() -> None:
    account_id = "a" * 128

    (row,) = parse(HEADER + f"{account_id},standard,eu-default\n")

    assert row.account_id == account_id


def test_valid_file_returns_rows_in_file_order() -> None:
    rows = parse(HEADER + ROW_1 + ROW_2)

    assert rows == [
        BatchRow("acct-1", Tier.STANDARD, "eu-default", 2),
        BatchRow("acct-2", Tier.BUDGET, "budget-eu", 3),
    ]


def test_spaces_around_values_are_stripped() -> None:
    rows = parse(" account_id , tier , pair \n acct-1 , standard , eu-default \n")

    assert rows == [BatchRow("acct-1", Tier.STANDARD, "eu-default", 2)]


def test_crlf_line_endings_are_accepted() -> None:
    rows = parse(HEADER.replace("\n", "\r\n") + ROW_1.replace("\n", "\r\n"))

    assert [row.account_id for row in rows] == ["acct-1"]


def test_blank_lines_are_skipped_and_keep_line_numbers() -> None:
    rows = parse(HEADER + ROW_1 + "\n   \n,,\n" + ROW_2, approved_count=2)

    assert [(row.account_id, row.line) for row in rows] == [
        ("acct-1", 2),
        ("acct-2", 6),
    ]


def test_error_after_blank_lines_names_the_physical_line() -> None:
    message = error_of(HEADER + ROW_1 + "\n\n" + "acct-2,gold,eu-default\n")

    assert "line 5: unknown tier 'gold'" in message


def test_duplicate_account_id_names_both_lines() -> None:
    message = error_of(HEADER + ROW_1 + ROW_2 + ROW_1)

    assert "line 4: duplicate account_id 'acct-1' (first on line 2)" in message


def test_every_bad_line_is_reported_together() -> None:
    text = HEADER + "acct-1,gold,eu-default\n" + ROW_2 + "acct-3,standard,mars\n"

    message = error_of(text)

    assert "line 2: unknown tier 'gold'" in message
    assert "line 4: unknown pair 'mars'" in message


def test_bad_rows_count_towards_the_approved_count() -> None:
    message = error_of(HEADER + ROW_1 + "acct-2,gold,eu-default\n", approved_count=1)

    assert "the file has 2 accounts but --approved-count is 1" in message


def test_over_count_error_names_first_extra_row_after_blank_lines() -> None:
    message = error_of(HEADER + ROW_1 + "\n" + ROW_2 + ROW_3, approved_count=2)

    assert "line 5: the file has 3 accounts" in message


def test_error_list_is_cut_after_twenty_lines() -> None:
    bad_rows = "".join(f"acct-{n},gold,eu-default\n" for n in range(25))

    message = error_of(HEADER + bad_rows, approved_count=100)

    assert message.count("unknown tier") == MAX_ERRORS_SHOWN
    assert message.endswith("... and 5 more")


def test_utf_8_sig_decoding_removes_bom() -> None:
    data = ("\ufeff" + HEADER + ROW_1).encode("utf-8")

    rows = parse(data.decode("utf-8-sig"))

    assert [row.account_id for row in rows] == ["acct-1"]


def test_leftover_bom_fails_on_line_1() -> None:
    data = ("\ufeff" + HEADER + ROW_1).encode("utf-8")

    message = error_of(data.decode("utf-8"))

    assert message.startswith("line 1: missing column account_id")


@pytest.mark.parametrize(
    "approved_count", [0, -1, 2**31], ids=["zero", "negative", "over-32-bit"]
)
def test_approved_count_out_of_range_is_rejected(approved_count: int) -> None:
    message = error_of(HEADER + ROW_1, approved_count)

    assert (
        f"--approved-count must be between 1 and 2147483647, got {approved_count}"
        in message
    )
