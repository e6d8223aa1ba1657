"""Submitting work by task name, for services that do not import forge_tasks.

``forge.batch.submit`` takes one JSON payload (``BatchSubmitPayload``) and
``forge.account.submit`` one account (``AccountSubmitPayload``). Both validate
the payload with pydantic and run the same preflight as the CLI. An invalid
payload or a refused batch fails the task at once with the reason, and
nothing is stored or enqueued. docs/submit-by-task.md has the schemas.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from forge_tasks.celery_app import app
from forge_tasks.domain.batch_file import (
    ACCOUNT_ID_PATTERN,
    MAX_COST_EUR,
    MAX_COUNT,
    BatchRow,
)
from forge_tasks.errors import InputError, TransientGatewayForgeError
from forge_tasks.gatewayforge.models import Tier
from forge_tasks.settings import get_settings
from forge_tasks.store.engine import create_tables
from forge_tasks.submission import pair_names, submit_batch

logger = logging.getLogger(__name__)


class AccountPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str = Field(pattern=ACCOUNT_ID_PATTERN.pattern)
    tier: Tier
    pair: str

    @field_validator("pair")
    @classmethod
    def _known_pair(cls, value: str) -> str:
        names = pair_names()
        if value not in names:
            raise ValueError(f"unknown pair {value!r}; use one of {', '.join(names)}")
        return value


class BatchSubmitPayload(BaseModel):
    """Payload of ``forge.batch.submit``."""

    model_config = ConfigDict(extra="forbid")

    accounts: list[AccountPayload] = Field(min_length=1)
    approved_count: int = Field(ge=1, le=MAX_COUNT, strict=True)
    approved_cost_eur: Decimal = Field(
        ge=0, le=MAX_COST_EUR, decimal_places=2, allow_inf_nan=False
    )
    concurrency: int | None = Field(default=None, ge=1, le=MAX_COUNT, strict=True)
    source: str = Field(default="send_task", max_length=512)


class AccountSubmitPayload(AccountPayload):
    """Payload of ``forge.account.submit``: one account, a batch of one."""

    approved_cost_eur: Decimal = Field(
        ge=0, le=MAX_COST_EUR, decimal_places=2, allow_inf_nan=False
    )
    source: str = Field(default="send_task", max_length=512)


def _parse(model: type[BaseModel], payload: Any) -> Any:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'payload'}: {error['msg']}"
            for error in exc.errors()
        )
        raise InputError(f"invalid {model.__name__}: {problems}") from None


def _submit(
    accounts: list[AccountPayload],
    *,
    approved_count: int,
    approved_cost_eur: Decimal,
    concurrency: int | None,
    source: str,
) -> dict[str, Any]:
    get_settings().require_real_secrets()
    ids = [a.account_id for a in accounts]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InputError("duplicate account_id in payload: " + ", ".join(duplicates))
    if len(accounts) > approved_count:
        raise InputError(
            f"payload has {len(accounts)} accounts but approved_count is {approved_count}"
        )
    rows = [
        BatchRow(a.account_id, a.tier, a.pair, line=index + 1)
        for index, a in enumerate(accounts)
    ]
    create_tables()
    submitted = submit_batch(
        rows,
        approved_count=approved_count,
        approved_cost_eur=approved_cost_eur,
        concurrency=concurrency,
        source=source,
    )
    return {
        "batch_id": submitted.batch_id,
        "size": submitted.size,
        "estimated_cost_eur": str(submitted.estimated_cost_eur),
    }


# A transient GatewayForge error can only come from the preflight's health
# call, before anything is stored, so the task is retried.
_RETRY_PREFLIGHT: dict[str, Any] = {
    "autoretry_for": (TransientGatewayForgeError,),
    "retry_backoff": 2,
    "retry_kwargs": {"max_retries": 3},
}


@app.task(name="forge.batch.submit", **_RETRY_PREFLIGHT)
def submit_batch_task(payload: dict[str, Any]) -> dict[str, Any]:
    """Validate and submit a batch; return its id, size and cost estimate."""
    parsed: BatchSubmitPayload = _parse(BatchSubmitPayload, payload)
    return _submit(
        parsed.accounts,
        approved_count=parsed.approved_count,
        approved_cost_eur=parsed.approved_cost_eur,
        concurrency=parsed.concurrency,
        source=parsed.source,
    )


@app.task(name="forge.account.submit", **_RETRY_PREFLIGHT)
def submit_account_task(payload: dict[str, Any]) -> dict[str, Any]:
    """Validate and submit one account as a batch of one."""
    parsed: AccountSubmitPayload = _parse(AccountSubmitPayload, payload)
    account = AccountPayload(
        account_id=parsed.account_id, tier=parsed.tier, pair=parsed.pair
    )
    return _submit(
        [account],
        approved_count=1,
        approved_cost_eur=parsed.approved_cost_eur,
        concurrency=None,
        source=parsed.source,
    )
