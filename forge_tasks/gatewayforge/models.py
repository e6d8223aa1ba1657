"""Request and response models of the GatewayForge API.

Both the client and the sandbox use these models, so the contract lives in one
place; docs/gatewayforge-api.md describes it endpoint by endpoint. Field names
follow the runbook's tool arguments where it names them (``accountId``,
``provisionRequestId``, ``instanceId``, ``pair_instance_id``) and snake_case
everywhere else.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Provider(StrEnum):
    HETZNER = "hetzner"
    VULTR = "vultr"
    DIGITALOCEAN = "digitalocean"
    CONTABO = "contabo"


class Tier(StrEnum):
    BUDGET = "budget"
    STANDARD = "standard"
    ENTERPRISE = "enterprise"


class Role(StrEnum):
    PRIMARY = "primary"
    STANDBY = "standby"


class PairState(StrEnum):
    """Provision states reported by ``gf_pair_status``."""

    CREATING = "CREATING"
    BOOTSTRAPPING = "BOOTSTRAPPING"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"


class FailureKind(StrEnum):
    PROVISIONING = "provisioning"
    BOOTSTRAP = "bootstrap"


class BootstrapCause(StrEnum):
    """The three usual causes of a bootstrap failure."""

    CLOUD_INIT = "cloud_init"  # Cloud-init failed to install Docker or Tailscale.
    IMAGE_PULL_NETWORK = "image_pull_network"  # Network issue during image pull.
    GATEWAYFORGE_UNREACHABLE = "gatewayforge_unreachable"  # Check Tailscale.


class FeedFormat(StrEnum):
    STATUSPAGE_V2 = "statuspage_v2"  # Atlassian Statuspage v2 summary.json
    VULTR_STATUS_JSON = "vultr_status_json"  # Vultr's status.json


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class StatusFeed(_Model):
    """A provider's status page document, in the form that provider publishes."""

    format: FeedFormat
    # The raw document. A feed that could not be fetched is sent as a string
    # (the error page's text), which no adapter parses.
    document: Any


class ProviderHealth(_Model):
    """One provider's entry in ``gf_provider_health``."""

    provider: Provider
    health_score: int = Field(ge=0, le=100)
    provision_success_rate_7d: float = Field(ge=0, le=100, description="percent")
    avg_provision_time_s: float = Field(ge=0, description="seconds, uncompressed")
    quota_limit: int = Field(ge=0)
    quota_used: int = Field(ge=0)
    status_feed: StatusFeed


class ProviderHealthResponse(_Model):
    providers: list[ProviderHealth]
    generated_at: datetime


class ProvisionRequest(_Model):
    """Body of ``gf_provision``; the Idempotency-Key header makes it safe to resend."""

    account_id: str = Field(alias="accountId", min_length=1, max_length=128)
    tier: Tier
    primary_provider: Provider = Field(alias="primaryProvider")
    primary_region: str = Field(alias="primaryRegion", min_length=1)
    standby_provider: Provider = Field(alias="standbyProvider")
    standby_region: str = Field(alias="standbyRegion", min_length=1)
    role: Role
    pair_instance_id: str | None = None


class ProvisionResponse(_Model):
    provision_request_id: str = Field(alias="provisionRequestId")
    instance_id: str = Field(alias="instanceId")
    account_id: str = Field(alias="accountId")
    role: Role
    provider: Provider
    region: str
    status: PairState
    created_at: datetime


class Failure(_Model):
    kind: FailureKind
    reason: str
    cause: BootstrapCause | None = None


class PairStatus(_Model):
    """Body of ``gf_pair_status`` for one provision request."""

    provision_request_id: str = Field(alias="provisionRequestId")
    account_id: str = Field(alias="accountId")
    instance_id: str = Field(alias="instanceId")
    role: Role
    provider: Provider
    region: str
    status: PairState
    # True while BOOTSTRAPPING and the instance waits for the config push.
    awaiting_config: bool = False
    pair_instance_id: str | None = None
    failure: Failure | None = None
    updated_at: datetime


class AccountConfig(_Model):
    """The account's OpenClaw configuration; it may contain secrets, so it is never logged."""

    account_id: str = Field(alias="accountId")
    version: int
    config: dict[str, Any]


class ConfigPushRequest(_Model):
    """Body of the config push; ``config`` is the AccountConfig's ``config``."""

    account_id: str = Field(alias="accountId", min_length=1, max_length=128)
    config: dict[str, Any]


class ConfigPushResponse(_Model):
    instance_id: str = Field(alias="instanceId")
    accepted: bool


class InstanceHealth(_Model):
    instance_id: str = Field(alias="instanceId")
    score: int = Field(ge=0, le=100)
    live: bool
    checked_at: datetime


class AuditEventIn(_Model):
    """A gf-audit event; ``event_id`` makes a resend a no-op."""

    event_id: str = Field(min_length=1, max_length=128)
    action: str = Field(min_length=1, max_length=64)
    account_id: str | None = None
    batch_id: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class AuditEventAck(_Model):
    event_id: str
    recorded: Literal[True] = True
