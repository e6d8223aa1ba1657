"""Build each provider's status page document from the active scenario.

DigitalOcean, Hetzner and Contabo publish an Atlassian Statuspage v2
``summary.json``; Vultr publishes its own ``status.json``. The documents use the
real field names, and tests/fixtures/status-feeds/ contains captured samples.
Statuspage has no region field, so a region is a component whose name comes
from config/status-components.json. Hetzner's real status page is an Atom
feed with no structured region; the sandbox publishes Statuspage v2 for
Hetzner instead and does not imitate the Atom feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from forge_tasks.domain.catalogue import Catalogue
from forge_tasks.gatewayforge.models import FeedFormat, Provider, StatusFeed
from forge_tasks.sandbox.scenario import (
    FeedUnreadable,
    ProviderIncident,
    RegionIncident,
    Scenario,
)
from forge_tasks.sandbox.statuspage import Event, StatuspageBuilder
from forge_tasks.sandbox.vultr_status import Alert, build_vultr_status

UNREADABLE_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>502 Bad Gateway</h1><p>The status page is temporarily "
    "unavailable.</p></body></html>"
)


def feed_format(provider: Provider) -> FeedFormat:
    if provider is Provider.VULTR:
        return FeedFormat.VULTR_STATUS_JSON
    return FeedFormat.STATUSPAGE_V2


@dataclass(frozen=True)
class FeedContext:
    """Inputs of a feed document other than the scenario."""

    catalogue: Catalogue
    components: dict[Provider, dict[str, str]]
    status_base_url: str  # e.g. http://127.0.0.1:8790/status
    scenario_started_at: datetime


def build_feed(
    provider: Provider, scenario: Scenario, context: FeedContext
) -> StatusFeed:
    """Return the provider's status page as ``gf_provider_health`` embeds it."""
    return StatusFeed(
        format=feed_format(provider),
        document=build_document(provider, scenario, context),
    )


def build_document(
    provider: Provider, scenario: Scenario, context: FeedContext
) -> dict[str, Any] | str:
    """Return the raw document, or an HTML error page when the feed is unreadable."""
    for fault in scenario.faults_of(FeedUnreadable):
        if fault.provider is provider:
            return UNREADABLE_PAGE
    if provider is Provider.VULTR:
        return build_vultr_status(
            context.catalogue.regions_of(provider),
            _vultr_alerts(scenario, context.catalogue),
            context.scenario_started_at,
        )
    builder = StatuspageBuilder(
        provider,
        context.components.get(provider, {}),
        f"{context.status_base_url}/{provider.value}",
        context.scenario_started_at,
    )
    return builder.build(_statuspage_events(provider, scenario))


def _statuspage_events(provider: Provider, scenario: Scenario) -> list[Event]:
    events = []
    for index, fault in enumerate(scenario.faults):
        if isinstance(fault, ProviderIncident) and fault.provider is provider:
            events.append(
                Event(
                    key=f"faults[{index}]",
                    name=fault.name or "Degraded service in all regions",
                    message=fault.message
                    or "We are investigating failures affecting all regions.",
                    impact=fault.impact,
                    region=None,
                )
            )
        elif isinstance(fault, RegionIncident) and fault.provider is provider:
            events.append(_region_event(index, fault))
    return events


def _region_event(index: int, fault: RegionIncident) -> Event:
    if fault.style == "maintenance":
        name = fault.name or f"Scheduled maintenance in {fault.region}"
        message = fault.message or "Scheduled maintenance is in progress."
        impact = "maintenance"
    else:
        name = fault.name or f"Server creation issues in {fault.region}"
        message = fault.message or "We are investigating issues in this location."
        impact = fault.impact
    return Event(f"faults[{index}]", name, message, impact, fault.region)


def _vultr_alerts(scenario: Scenario, catalogue: Catalogue) -> list[Alert]:
    alerts = []
    for index, fault in enumerate(scenario.faults):
        if isinstance(fault, ProviderIncident) and fault.provider is Provider.VULTR:
            subject = fault.name or "Service disruption in all locations"
            message = fault.message or "We are investigating a service-wide issue."
            alerts.append(Alert(f"faults[{index}]", subject, message, None))
        elif isinstance(fault, RegionIncident) and fault.provider is Provider.VULTR:
            location = catalogue.get(Provider.VULTR, fault.region).describe_city()
            if fault.style == "maintenance":
                subject = fault.name or f"{location} Scheduled Maintenance"
                message = fault.message or "Scheduled maintenance is in progress."
            else:
                subject = fault.name or f"{location} Network Incident"
                message = fault.message or "We are investigating an issue here."
            alerts.append(Alert(f"faults[{index}]", subject, message, fault.region))
    return alerts
