"""``forge-tasks batch submit`` rejects a bad CSV whole, and ``demo`` runs over Redis."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis
from conftest import make_env
from rules_helpers import run_cli

pytestmark = pytest.mark.integration

HEADER = "account_id,tier,pair\n"
GOOD = "a-1,standard,eu-default\n"

BAD_FILES = [
    (
        "missing-column",
        "account_id,tier\na-1,standard\n",
        "line 1: missing column pair",
    ),
    (
        "extra-column",
        "account_id,tier,pair,owner\na-1,standard,eu-default,x\n",
        "line 1: unexpected column 'owner'",
    ),
    (
        "unknown-tier",
        HEADER + GOOD + "a-2,gold,eu-default\n",
        "line 3: unknown tier 'gold'",
    ),
    (
        "unknown-pair",
        HEADER + GOOD + "a-2,standard,mars\n",
        "line 3: unknown pair 'mars'",
    ),
    (
        "duplicate-id",
        HEADER + GOOD + "a-1,budget,us\n",
        "line 3: duplicate account_id 'a-1' (first on line 2)",
    ),
    (
        "too-many-rows",
        HEADER + GOOD + "a-2,standard,us\na-3,standard,us\n",
        "line 4: the file has 3 accounts but --approved-count is 2",
    ),
    ("empty-file", "", "line 1: the file is empty"),
]


@pytest.mark.parametrize(
    ("content", "message"),
    [pytest.param(content, message, id=name) for name, content, message in BAD_FILES],
)
def test_bad_csv_is_rejected_and_nothing_is_written(
    content: str, message: str, tmp_path: Path, redis_db: str
) -> None:
    store = tmp_path / "store.db"
    env = make_env(tmp_path, redis_db, f"sqlite:///{store}")
    batch_file = tmp_path / "batch.csv"
    batch_file.write_text(content)

    result = run_cli(
        [
            "batch",
            "submit",
            str(batch_file),
            "--approved-count",
            "2",
            "--approved-cost",
            "100",
        ],
        env,
    )

    assert result.returncode == 1
    assert "InputError:" in result.stderr
    assert message in result.stderr
    assert not store.exists()
    assert redis.Redis.from_url(redis_db).dbsize() == 0


def test_placeholder_secrets_are_refused_outside_the_demo(
    tmp_path: Path, redis_db: str
) -> None:
    env = make_env(tmp_path, redis_db, f"sqlite:///{tmp_path / 'store.db'}")
    env["FORGE_COMPANION_SECRET"] = "change-me"
    batch_file = tmp_path / "batch.csv"
    batch_file.write_text(HEADER + GOOD)

    result = run_cli(
        [
            "batch",
            "submit",
            str(batch_file),
            "--approved-count",
            "1",
            "--approved-cost",
            "100",
        ],
        env,
    )

    assert result.returncode == 1
    assert "ConfigurationError:" in result.stderr
    assert "FORGE_COMPANION_SECRET" in result.stderr


def test_demo_runs_over_real_redis(redis_db: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORGE_")}
    env["FORGE_BROKER_URL"] = redis_db

    result = run_cli(["demo"], env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "20/20 done" in result.stdout
    assert "report for batch" in result.stdout
    assert "identical; one instance per account, role and attempt: yes" in result.stdout
