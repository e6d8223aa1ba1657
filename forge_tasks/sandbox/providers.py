"""Each provider's ``gf_provider_health`` figures: defaults and scenario overrides.

The defaults pass the runbook's provider selection rules (health score at
least 75, 7-day success rate at least 95 %, average provision time under
10 minutes), so a scenario has to lower them on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

from forge_tasks.gatewayforge.models import Provider
from forge_tasks.sandbox.scenario import Scenario


@dataclass(frozen=True)
class Figures:
    health_score: int
    provision_success_rate_7d: float  # percent
    avg_provision_time_s: float  # runbook seconds
    quota_limit: int = 1000
    quota_used: int = 100  # before the sandbox creates anything


DEFAULT_FIGURES = {
    Provider.HETZNER: Figures(92, 99.2, 330),
    Provider.VULTR: Figures(88, 98.5, 300),
    Provider.DIGITALOCEAN: Figures(90, 99.0, 280),
    Provider.CONTABO: Figures(80, 96.0, 420),
}


def figures_of(scenario: Scenario, provider: Provider) -> Figures:
    """Return the provider's defaults with the scenario's overrides applied."""
    defaults = DEFAULT_FIGURES[provider]
    override = scenario.providers.get(provider)
    if override is None:
        return defaults
    values = {
        "health_score": defaults.health_score,
        "provision_success_rate_7d": defaults.provision_success_rate_7d,
        "avg_provision_time_s": defaults.avg_provision_time_s,
        "quota_limit": defaults.quota_limit,
        "quota_used": defaults.quota_used,
        **override.model_dump(exclude_none=True),
    }
    return Figures(**values)
