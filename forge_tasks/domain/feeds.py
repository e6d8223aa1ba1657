"""Status-feed adapters: one per feed form, each mapped to one incident model.

A provider publishes its status page in one of two forms (``FeedFormat``):

- Atlassian Statuspage v2 ``summary.json`` (DigitalOcean, Hetzner and Contabo in
  the sandbox). Statuspage has no region field, so components are mapped to region
  ids through ``config/status-components.json``.
- Vultr's ``status.json``, whose ``regions`` object is keyed by region id and
  whose ``service_alerts`` concern the whole provider.

A feed that cannot be parsed gives an unreadable :class:`FeedReading`. Placement
treats every region of that provider as not known to be safe.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from forge_tasks.domain.catalogue import Catalogue, config_dir, read_json_config
from forge_tasks.errors import ConfigurationError
from forge_tasks.gatewayforge.models import FeedFormat, Provider, StatusFeed

COMPONENTS_FILE_NAME = "status-components.json"

# Statuspage states that mean "not (or no longer) affecting service". Any other
# value, including one this code has not seen, counts as active, because a new
# state is more likely an outage than an all-clear.
STATUSPAGE_INACTIVE_INCIDENT_STATUSES = frozenset({"resolved", "postmortem"})
STATUSPAGE_INACTIVE_MAINTENANCE_STATUSES = frozenset({"scheduled", "completed"})
STATUSPAGE_INACTIVE_COMPONENT_STATUSES = frozenset(
    {"operational", "degraded_performance", "under_maintenance"}
)
STATUSPAGE_PROVIDER_INCIDENT_INDICATORS = frozenset({"major", "critical"})
STATUSPAGE_IMPACT_RANK = {"none": 0, "minor": 1, "major": 2, "critical": 3}
VULTR_INACTIVE_ALERT_STATUS = "resolved"

IncidentScope = Literal["region", "provider", "unmapped"]
ComponentMap = Mapping[Provider, Mapping[str, str]]
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Incident:
    """An active incident or maintenance read from a status feed.

    ``scope`` is ``region`` for one region (``region_id`` is set), ``provider`` for
    the whole provider, and ``unmapped`` for an item that names no region of ours
    (such as an incident on a billing component). Unmapped incidents are kept for
    the audit record and block no region.
    """

    provider: Provider
    scope: IncidentScope
    region_id: str | None
    title: str
    status: str
    evidence: str


@dataclass(frozen=True)
class FeedReading:
    """The incidents in one provider's status feed, or why it could not be read."""

    provider: Provider
    readable: bool
    error: str | None = None
    incidents: tuple[Incident, ...] = ()

    @classmethod
    def unreadable(cls, provider: Provider, error: str) -> FeedReading:
        return cls(provider=provider, readable=False, error=error)

    def region_incidents(self, region_id: str) -> tuple[Incident, ...]:
        return tuple(
            incident
            for incident in self.incidents
            if incident.scope == "region" and incident.region_id == region_id
        )

    def region_has_incident(self, region_id: str) -> bool:
        return bool(self.region_incidents(region_id))

    def provider_incident(self) -> Incident | None:
        """Return the first provider-wide incident, or None."""
        for incident in self.incidents:
            if incident.scope == "provider":
                return incident
        return None


def read_feed(
    provider: Provider,
    feed: StatusFeed,
    component_map: ComponentMap,
    *,
    provider_regions: Collection[str] | None = None,
) -> FeedReading:
    """Read one provider's status feed into incidents.

    ``provider_regions`` lists the provider's region ids. When every one of them
    has an active incident, the reading adds a provider incident. For Statuspage
    feeds it defaults to the regions of the component map. Vultr's feed has no
    such default because its ``regions`` object may list only some regions.
    """
    if feed.format == FeedFormat.VULTR_STATUS_JSON:
        reading = _read_vultr(provider, feed.document)
        regions = provider_regions
    else:
        components = component_map.get(provider, {})
        reading = _read_statuspage(provider, feed.document, components)
        regions = (
            provider_regions
            if provider_regions is not None
            else frozenset(components.values())
        )
    return _add_all_regions_incident(reading, regions)


def load_component_map(
    catalogue: Catalogue, path: Path | None = None
) -> dict[Provider, dict[str, str]]:
    """Load the Statuspage component name to region id table of each provider.

    Raises ConfigurationError when a provider or region is not in the catalogue.
    """
    path = path or config_dir() / COMPONENTS_FILE_NAME
    document = read_json_config(path)
    table = (
        document.get("statuspage_components") if isinstance(document, dict) else None
    )
    if not isinstance(table, dict):
        raise ConfigurationError(
            f"{path}: expected an object with a 'statuspage_components' object"
        )

    component_map: dict[Provider, dict[str, str]] = {}
    for provider_name, components in table.items():
        provider = _parse_provider(path, provider_name)
        if not isinstance(components, dict):
            raise ConfigurationError(f"{path}: components of {provider} not an object")
        for region_id in components.values():
            catalogue.get(provider, str(region_id))
        component_map[provider] = {str(k): str(v) for k, v in components.items()}
    return component_map


def _parse_provider(path: Path, name: str) -> Provider:
    try:
        return Provider(name)
    except ValueError:
        raise ConfigurationError(f"{path}: unknown provider {name!r}") from None


# Statuspage v2 summary.json.


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class _SpComponent(_Strict):
    id: str = ""
    name: str
    status: str


class _SpAffectedComponent(_Strict):
    name: str


class _SpIncidentUpdate(_Strict):
    affected_components: list[_SpAffectedComponent] | None = None


class _SpIncident(_Strict):
    """An incident or a scheduled maintenance; both have the same fields."""

    id: str
    name: str
    status: str
    # Empty when the page omits it, and then the item counts as severe.
    impact: str = ""
    components: list[_SpComponent] = []
    incident_updates: list[_SpIncidentUpdate] = []

    def component_names(self) -> list[str]:
        names = [component.name for component in self.components]
        for update in self.incident_updates:
            names.extend(a.name for a in update.affected_components or [])
        return list(dict.fromkeys(names))


class _SpPageStatus(_Strict):
    indicator: str
    description: str = ""


class _SpSummary(_Strict):
    status: _SpPageStatus
    components: list[_SpComponent]
    incidents: list[_SpIncident]
    scheduled_maintenances: list[_SpIncident]


def _read_statuspage(
    provider: Provider, document: object, components: Mapping[str, str]
) -> FeedReading:
    summary = _validate(provider, FeedFormat.STATUSPAGE_V2, _SpSummary, document)
    if isinstance(summary, FeedReading):
        return summary

    incidents: list[Incident] = []
    indicator = summary.status.indicator
    if indicator in STATUSPAGE_PROVIDER_INCIDENT_INDICATORS and not (
        _indicator_from_region_incidents(indicator, summary.incidents, components)
    ):
        incidents.append(_page_indicator_incident(provider, summary.status))
    for component in summary.components:
        if component.status not in STATUSPAGE_INACTIVE_COMPONENT_STATUSES:
            incidents.extend(_component_incidents(provider, component, components))
    for incident in summary.incidents:
        if incident.status not in STATUSPAGE_INACTIVE_INCIDENT_STATUSES:
            incidents.extend(
                _item_incidents(provider, "incident", incident, components)
            )
    for maintenance in summary.scheduled_maintenances:
        if maintenance.status not in STATUSPAGE_INACTIVE_MAINTENANCE_STATUSES:
            incidents.extend(
                _item_incidents(provider, "maintenance", maintenance, components)
            )
    return FeedReading(provider=provider, readable=True, incidents=tuple(incidents))


def _indicator_from_region_incidents(
    indicator: str, items: list[_SpIncident], components: Mapping[str, str]
) -> bool:
    """Check whether every open incident as severe as the indicator is regional.

    The Statuspage API documents the page indicator as a rollup of the whole
    page (the "blended component status"), so one major incident in one region
    makes the page ``major``, as the sandbox's pages do too. The indicator is a
    provider incident only when an incident that severe covers every region or
    no region of ours, or when no open incident explains it.
    """
    rank = STATUSPAGE_IMPACT_RANK[indicator]
    every_region = set(components.values())
    severe = [
        item
        for item in items
        if item.status not in STATUSPAGE_INACTIVE_INCIDENT_STATUSES
        and STATUSPAGE_IMPACT_RANK.get(item.impact, rank) >= rank
    ]
    region_sets = [
        set(_mapped_regions(item.component_names(), components)) for item in severe
    ]
    return bool(region_sets) and all(
        regions and regions < every_region for regions in region_sets
    )


def _page_indicator_incident(provider: Provider, status: _SpPageStatus) -> Incident:
    return Incident(
        provider=provider,
        scope="provider",
        region_id=None,
        title=status.description or f"page indicator {status.indicator}",
        status=status.indicator,
        evidence=(
            f"page status.indicator {status.indicator!r} ({status.description!r})"
        ),
    )


def _component_incidents(
    provider: Provider, component: _SpComponent, components: Mapping[str, str]
) -> list[Incident]:
    evidence = (
        f"component {component.name!r} (id {component.id}) status {component.status!r}"
    )
    return _scoped_incidents(
        provider,
        _mapped_regions([component.name], components),
        title=f"{component.name} {component.status}",
        status=component.status,
        evidence=evidence,
    )


def _item_incidents(
    provider: Provider,
    kind: str,
    item: _SpIncident,
    components: Mapping[str, str],
) -> list[Incident]:
    names = item.component_names()
    evidence = f"{kind} {item.id} {item.name!r} status {item.status!r}"
    if names:
        evidence += ", components " + ", ".join(repr(name) for name in names)
    return _scoped_incidents(
        provider,
        _mapped_regions(names, components),
        title=item.name,
        status=item.status,
        evidence=evidence,
    )


def _mapped_regions(names: Iterable[str], components: Mapping[str, str]) -> list[str]:
    regions = [components[name] for name in names if name in components]
    return list(dict.fromkeys(regions))


# Vultr status.json.


class _VultrAlert(_Strict):
    id: str = ""
    subject: str = ""
    status: str


class _VultrRegion(_Strict):
    alerts: list[_VultrAlert]


class _VultrStatus(_Strict):
    service_alerts: list[_VultrAlert]
    regions: dict[str, _VultrRegion]


def _read_vultr(provider: Provider, document: object) -> FeedReading:
    status = _validate(provider, FeedFormat.VULTR_STATUS_JSON, _VultrStatus, document)
    if isinstance(status, FeedReading):
        return status

    # Vultr posts maintenance as an "ongoing" alert and gives its dates only in
    # the text, so every alert that is not resolved counts as active.
    incidents: list[Incident] = []
    for alert in status.service_alerts:
        if alert.status != VULTR_INACTIVE_ALERT_STATUS:
            incidents.append(_vultr_incident(provider, alert, None))
    for region_id, region in status.regions.items():
        for alert in region.alerts:
            if alert.status != VULTR_INACTIVE_ALERT_STATUS:
                incidents.append(_vultr_incident(provider, alert, region_id))
    return FeedReading(provider=provider, readable=True, incidents=tuple(incidents))


def _vultr_incident(
    provider: Provider, alert: _VultrAlert, region_id: str | None
) -> Incident:
    where = "service_alerts" if region_id is None else f"regions.{region_id}.alerts"
    return Incident(
        provider=provider,
        scope="provider" if region_id is None else "region",
        region_id=region_id,
        title=alert.subject,
        status=alert.status,
        evidence=f"{where} {alert.id} {alert.subject!r} status {alert.status!r}",
    )


# Shared helpers.


def _validate(
    provider: Provider, feed_format: FeedFormat, model: type[ModelT], document: object
) -> ModelT | FeedReading:
    """Parse the document, or return an unreadable reading with the parse error."""
    if not isinstance(document, dict):
        preview = repr(document)[:80]
        return FeedReading.unreadable(
            provider,
            f"{feed_format} feed is not a JSON object but "
            f"{type(document).__name__}: {preview}",
        )
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        return FeedReading.unreadable(
            provider,
            f"{feed_format} feed is invalid at {location}: {first['msg']} "
            f"({exc.error_count()} errors)",
        )


def _scoped_incidents(
    provider: Provider,
    region_ids: list[str],
    *,
    title: str,
    status: str,
    evidence: str,
) -> list[Incident]:
    """Return one incident per region, or one unmapped incident when none is named."""
    if not region_ids:
        return [Incident(provider, "unmapped", None, title, status, evidence)]
    return [
        Incident(provider, "region", region_id, title, status, evidence)
        for region_id in region_ids
    ]


def _add_all_regions_incident(
    reading: FeedReading, provider_regions: Collection[str] | None
) -> FeedReading:
    if not reading.readable or not provider_regions:
        return reading
    affected = {incident.region_id for incident in reading.incidents}
    if not set(provider_regions) <= affected:
        return reading

    incident = Incident(
        provider=reading.provider,
        scope="provider",
        region_id=None,
        title="every region has an active incident",
        status="every_region_affected",
        evidence="active incidents in every region: "
        + ", ".join(sorted(provider_regions)),
    )
    return FeedReading(
        provider=reading.provider,
        readable=True,
        incidents=(*reading.incidents, incident),
    )
