"""SQLModel tables of the store.

An *account* row is one account's run in one batch; the same account id may
appear again in a later batch. Timestamps are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Dialect, Numeric, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    SQLite stores no offset and returns naive values; they are UTC because only
    UTC values are written, so the offset is put back on load.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(
                f"naive datetime {value!r}: store UTC-aware timestamps only"
            )
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Batch(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    status: str = Field(max_length=16, index=True)
    size: int
    approved_count: int
    approved_cost_eur: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    estimated_cost_eur: Decimal = Field(
        sa_column=Column(Numeric(12, 2), nullable=False)
    )
    concurrency: int
    started_count: int = 0
    # After a resume, the failure-rate check counts only accounts started since
    # ``resumed_at``, against the number of accounts not started at that moment.
    resumed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    remaining_at_resume: int | None = None
    resume_count: int = 0
    source: str = Field(default="", max_length=512)
    created_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    report: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class Account(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("batch_id", "account_id"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: str = Field(foreign_key="batch.id", index=True, max_length=64)
    account_id: str = Field(index=True, max_length=128)
    position: int
    tier: str = Field(max_length=16)
    pair_name: str = Field(max_length=32)
    primary_provider: str = Field(max_length=32)
    primary_region: str = Field(max_length=32)
    standby_provider: str = Field(max_length=32)
    standby_region: str = Field(max_length=32)
    status: str = Field(max_length=32, index=True)
    awaiting_reason: str | None = Field(default=None, max_length=32)
    failure_reason: str | None = Field(default=None, max_length=1024)
    started_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    # Last time a step locked this row; the batch watchdog looks for accounts
    # whose steps stopped (a message lost with a killed worker).
    touched_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Instance(SQLModel, table=True):
    """One provision attempt of one role of one account run."""

    __table_args__ = (UniqueConstraint("batch_id", "account_id", "role", "attempt"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: str = Field(index=True, max_length=64)
    account_id: str = Field(index=True, max_length=128)
    role: str = Field(max_length=16)
    attempt: int
    provider: str = Field(max_length=32)
    region: str = Field(max_length=32)
    idempotency_key: str = Field(unique=True, max_length=256)
    status: str = Field(max_length=32)
    provision_request_id: str | None = Field(default=None, max_length=128)
    instance_id: str | None = Field(default=None, max_length=128)
    pair_instance_id: str | None = Field(default=None, max_length=128)
    health_score: int | None = None
    failure_reason: str | None = Field(default=None, max_length=1024)
    requested_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )
    config_pushed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    finished_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class AuditEvent(SQLModel, table=True):
    """An append-only record of one decision or step."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=128)
    at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )
    batch_id: str | None = Field(default=None, index=True, max_length=64)
    account_id: str | None = Field(default=None, index=True, max_length=128)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class Notification(SQLModel, table=True):
    """A message to the Commander, kept whether or not its delivery succeeded."""

    id: int | None = Field(default=None, primary_key=True)
    notification_id: str = Field(unique=True, max_length=128)
    at: datetime = Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )
    kind: str = Field(max_length=32, index=True)
    batch_id: str | None = Field(default=None, index=True, max_length=64)
    account_id: str | None = Field(default=None, max_length=128)
    message: str = Field(max_length=2048)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    delivered_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    delivery_attempts: int = 0
