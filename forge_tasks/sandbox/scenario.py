"""The scenario file: provider statistics and the faults the sandbox injects.

A scenario is a JSON object. ``config/scenarios/`` contains examples, and
docs/sandbox.md describes every field. Loading checks the file against the
models below and against the region catalogue, and a bad file raises
ScenarioError with one line per bad field, naming the field and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from forge_tasks.domain.catalogue import Catalogue
from forge_tasks.errors import ConfigurationError
from forge_tasks.gatewayforge.models import BootstrapCause, Provider, Role

DEFAULT_PROVISION_TIME_S = (240.0, 480.0)
FaultT = TypeVar("FaultT")


class ScenarioError(ConfigurationError):
    """Raised when a scenario file or document is invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderStats(_Strict):
    """Overrides of one provider's ``gf_provider_health`` figures.

    An unset field keeps the default of forge_tasks.sandbox.providers.
    """

    health_score: int | None = Field(default=None, ge=0, le=100)
    provision_success_rate_7d: float | None = Field(default=None, ge=0, le=100)
    avg_provision_time_s: float | None = Field(default=None, ge=0)
    quota_limit: int | None = Field(default=None, ge=0)
    quota_used: int | None = Field(default=None, ge=0)


class ProvisionMatch(_Strict):
    """Match criteria of a provision-level fault; an unset field matches all."""

    provider: Provider | None = None
    region: str | None = None
    role: Role | None = None
    account_ids: list[str] | None = None
    # Only the first N matching provisions, counted from when the scenario starts.
    first: int | None = Field(default=None, ge=1)


class ProvisionFailure(ProvisionMatch):
    kind: Literal["provision_failure"]
    reason: str = "the provider could not create the server"


class BootstrapFailure(ProvisionMatch):
    kind: Literal["bootstrap_failure"]
    # Unset: one of the three causes, drawn per instance from the seed.
    cause: BootstrapCause | None = None


class SlowProvision(ProvisionMatch):
    kind: Literal["slow_provision"]
    duration_s: float = Field(gt=0)


class LowHealth(ProvisionMatch):
    kind: Literal["low_health"]
    score: int = Field(ge=0, le=100)


class RegionIncident(_Strict):
    kind: Literal["region_incident"]
    provider: Provider
    region: str
    style: Literal["incident", "maintenance"] = "incident"
    impact: Literal["minor", "major", "critical"] = "major"
    name: str | None = None
    message: str | None = None


class ProviderIncident(_Strict):
    kind: Literal["provider_incident"]
    provider: Provider
    impact: Literal["major", "critical"] = "major"
    name: str | None = None
    message: str | None = None


class FeedUnreadable(_Strict):
    kind: Literal["feed_unreadable"]
    provider: Provider


class HttpError(_Strict):
    kind: Literal["http_error"]
    status: Literal[429, 500, 502, 503]
    rate: float = Field(ge=0, le=1)
    path_prefix: str = "/v1"
    method: str | None = None
    # "before": the request is not handled. "after": it is handled (an instance
    # may be created) and then the response is replaced, as when a response is
    # lost on the way back.
    phase: Literal["before", "after"] = "before"
    # Runbook seconds; the Retry-After header of a 429 is this divided by the
    # time scale, rounded up.
    retry_after_s: float = Field(default=60.0, ge=0)


ProvisionFault = ProvisionFailure | BootstrapFailure | SlowProvision | LowHealth
Fault = Annotated[
    ProvisionFailure
    | BootstrapFailure
    | SlowProvision
    | LowHealth
    | RegionIncident
    | ProviderIncident
    | FeedUnreadable
    | HttpError,
    Field(discriminator="kind"),
]


class Scenario(_Strict):
    """One scenario: the seed, provision times, provider overrides and faults."""

    name: str = "unnamed"
    description: str = ""
    seed: int = 0
    provision_time_s: tuple[float, float] = DEFAULT_PROVISION_TIME_S
    providers: dict[Provider, ProviderStats] = Field(default_factory=dict)
    faults: list[Fault] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_provision_time(self) -> Scenario:
        low, high = self.provision_time_s
        if not 0 < low <= high:
            raise ValueError(
                f"provision_time_s must be [min, max] with 0 < min <= max, "
                f"got [{low}, {high}]"
            )
        return self

    def faults_of(self, kind: type[FaultT]) -> list[FaultT]:
        return [fault for fault in self.faults if isinstance(fault, kind)]


def parse_scenario(
    document: Any, catalogue: Catalogue, *, source: str = "scenario"
) -> Scenario:
    """Validate a parsed scenario document; ``source`` names it in errors."""
    try:
        scenario = Scenario.model_validate(document)
    except ValidationError as exc:
        lines = [_describe_error(error) for error in exc.errors()]
        raise ScenarioError(_format_problems(source, lines)) from exc

    lines = list(_catalogue_problems(scenario, catalogue))
    if lines:
        raise ScenarioError(_format_problems(source, lines))
    return scenario


def load_scenario(path: Path, catalogue: Catalogue) -> Scenario:
    """Read and validate a scenario file, raising ScenarioError when it is invalid."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(
            f"cannot read scenario file {path}: {exc.strerror}; "
            "pass the path of an existing JSON file"
        ) from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            f"scenario file {path} is not valid JSON: {exc.msg} at line "
            f"{exc.lineno} column {exc.colno}; fix the syntax there"
        ) from exc
    return parse_scenario(document, catalogue, source=str(path))


def _format_problems(source: str, lines: list[str]) -> str:
    return f"invalid scenario {source}:\n" + "\n".join(f"  {line}" for line in lines)


def _describe_error(error: ErrorDetails) -> str:
    field = _field_path(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        fix = "remove it, because this object does not accept that field"
    elif kind == "missing":
        fix = "add it"
    else:
        fix = f"use a valid value: {error['msg']}"
    if kind in ("extra_forbidden", "missing"):
        return f"{field}: {error['msg'].lower()}; {fix}"
    return f"{field}: invalid value {error.get('input')!r}; {fix}"


def _field_path(loc: tuple[int | str, ...]) -> str:
    # Pydantic puts a discriminated union's tag in the path ("faults", 0,
    # "http_error", "rate"); show it as faults[0](http_error).rate.
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]":
            path += " (the key)"
        elif path.endswith("]") and part in _FAULT_KINDS:
            path += f"({part})"
        else:
            path += f".{part}" if path else part
    return path or "(document)"


_FAULT_KINDS = {
    "provision_failure",
    "bootstrap_failure",
    "slow_provision",
    "low_health",
    "region_incident",
    "provider_incident",
    "feed_unreadable",
    "http_error",
}


def _catalogue_problems(scenario: Scenario, catalogue: Catalogue) -> Iterable[str]:
    for index, fault in enumerate(scenario.faults):
        region = getattr(fault, "region", None)
        if region is None:
            continue
        provider: Provider | None = getattr(fault, "provider", None)
        providers = [provider] if provider is not None else list(Provider)
        known = {r.id for p in providers for r in catalogue.regions_of(p)}
        if region not in known:
            where = provider.value if provider is not None else "any provider"
            yield (
                f"faults[{index}]({fault.kind}).region: {region!r} is not a region "
                f"of {where} in config/regions.json; use one of "
                f"{', '.join(sorted(known))}"
            )
