"""Atlassian Statuspage v2 ``summary.json`` documents for the simulated providers.

Field names and vocabularies follow real pages. A component ``status`` is one
of operational, degraded_performance, partial_outage, major_outage or
under_maintenance. An incident ``impact`` is one of none, minor, major or
critical, and maintenances use ``maintenance``. The page ``status.indicator``
is one of none, minor, major, critical or maintenance.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from forge_tasks.gatewayforge.models import Provider

MAINTENANCE_LENGTH = timedelta(hours=2)
COMPONENTS_CREATED_AT = datetime.fromisoformat("2024-01-15T09:00:00+00:00")

PAGE_NAMES = {
    Provider.DIGITALOCEAN: "DigitalOcean",
    Provider.HETZNER: "Hetzner Online Status",
    Provider.CONTABO: "Contabo Status",
}
INDICATOR_DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Partially Degraded Service",
    "major": "Partial System Outage",
    "critical": "Major Service Outage",
    "maintenance": "Service Under Maintenance",
}
COMPONENT_STATUS_BY_IMPACT = {
    "minor": "degraded_performance",
    "major": "partial_outage",
    "critical": "major_outage",
    "maintenance": "under_maintenance",
}
_IMPACT_RANK = {"none": 0, "maintenance": 1, "minor": 2, "major": 3, "critical": 4}
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def stable_id(*parts: str, length: int = 12) -> str:
    """Return a Statuspage-style lowercase id derived from ``parts``."""
    digest = hashlib.sha256(":".join(parts).encode()).digest()
    return "".join(_ID_ALPHABET[byte % len(_ID_ALPHABET)] for byte in digest[:length])


def timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Component:
    id: str
    name: str
    region: str
    position: int
    status: str = "operational"
    updated_at: datetime = COMPONENTS_CREATED_AT


@dataclass(frozen=True)
class Event:
    """An unresolved incident or an in-progress maintenance to publish."""

    key: str
    name: str
    message: str
    impact: str  # minor, major, critical, or maintenance
    region: str | None  # None: every component is affected


class StatuspageBuilder:
    """Builds one provider's ``summary.json`` at one moment."""

    def __init__(
        self,
        provider: Provider,
        component_regions: dict[str, str],
        page_url: str,
        started_at: datetime,
    ) -> None:
        self.provider = provider
        self.page_id = stable_id("page", provider.value)
        self.page_url = page_url
        self.started_at = started_at
        self.components = [
            Component(stable_id(provider.value, name), name, region, position)
            for position, (name, region) in enumerate(component_regions.items(), 1)
        ]

    def build(self, events: list[Event]) -> dict[str, Any]:
        incidents = []
        maintenances = []
        for event in events:
            affected = self._affect(event)
            if event.impact == "maintenance":
                maintenances.append(self._maintenance(event, affected))
            else:
                incidents.append(self._incident(event, affected))
        indicator = max(
            (event.impact for event in events),
            key=_IMPACT_RANK.__getitem__,
            default="none",
        )
        return {
            "page": {
                "id": self.page_id,
                "name": PAGE_NAMES[self.provider],
                "url": self.page_url,
                "time_zone": "Etc/UTC",
                "updated_at": timestamp(self.started_at),
            },
            "components": [self._component(c) for c in self.components],
            "incidents": incidents,
            "scheduled_maintenances": maintenances,
            "status": {
                "indicator": indicator,
                "description": INDICATOR_DESCRIPTIONS[indicator],
            },
        }

    def _affect(self, event: Event) -> list[tuple[Component, str]]:
        """Set the affected components' status; return each with its old status."""
        new_status = COMPONENT_STATUS_BY_IMPACT[event.impact]
        affected = []
        for component in self.components:
            if event.region is not None and component.region != event.region:
                continue
            affected.append((component, component.status))
            component.status = new_status
            component.updated_at = self.started_at
        return affected

    def _component(self, component: Component) -> dict[str, Any]:
        return {
            "id": component.id,
            "name": component.name,
            "status": component.status,
            "created_at": timestamp(COMPONENTS_CREATED_AT),
            "updated_at": timestamp(component.updated_at),
            "position": component.position,
            "description": None,
            "showcase": False,
            "start_date": None,
            "group_id": None,
            "page_id": self.page_id,
            "group": False,
            "only_show_if_degraded": False,
        }

    def _incident(
        self, event: Event, affected: list[tuple[Component, str]]
    ) -> dict[str, Any]:
        incident_id = stable_id(self.provider.value, "incident", event.key)
        started = timestamp(self.started_at)
        update = self._update(incident_id, "investigating", event, affected)
        return {
            "id": incident_id,
            "name": event.name,
            "status": "investigating",
            "created_at": started,
            "updated_at": started,
            "monitoring_at": None,
            "resolved_at": None,
            "impact": event.impact,
            "shortlink": f"{self.page_url}/incidents/{incident_id}",
            "started_at": started,
            "page_id": self.page_id,
            "incident_updates": [update],
            "components": [self._component(component) for component, _ in affected],
        }

    def _maintenance(
        self, event: Event, affected: list[tuple[Component, str]]
    ) -> dict[str, Any]:
        maintenance = self._incident(event, affected)
        maintenance["status"] = "in_progress"
        maintenance["incident_updates"] = [
            self._update(maintenance["id"], "in_progress", event, affected)
        ]
        maintenance["scheduled_for"] = timestamp(self.started_at)
        maintenance["scheduled_until"] = timestamp(self.started_at + MAINTENANCE_LENGTH)
        return maintenance

    def _update(
        self,
        incident_id: str,
        status: str,
        event: Event,
        affected: list[tuple[Component, str]],
    ) -> dict[str, Any]:
        started = timestamp(self.started_at)
        return {
            "id": stable_id(incident_id, "update", status),
            "status": status,
            "body": event.message,
            "incident_id": incident_id,
            "created_at": started,
            "updated_at": started,
            "display_at": started,
            "affected_components": [
                {
                    "code": component.id,
                    "name": component.name,
                    "old_status": old_status,
                    "new_status": component.status,
                }
                for component, old_status in affected
            ],
            "deliver_notifications": True,
            "custom_tweet": None,
            "tweet_id": None,
        }
