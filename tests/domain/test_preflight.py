"""Tests of the pre-provision checklist for a batch."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from forge_tasks.domain.catalogue import Catalogue
from forge_tasks.domain.pairs import PairConfig
from forge_tasks.domain.placement import Conditions
from forge_tasks.domain.preflight import (
    AccountRequest,
    PreflightResult,
    evaluate_preflight,
)
from forge_tasks.domain.pricing import PriceTable
from forge_tasks.gatewayforge.models import Provider, Tier

H, V, D, C = (
    Provider.HETZNER,
    Provider.VULTR,
    Provider.DIGITALOCEAN,
    Provider.CONTABO,
)
BuildConditions = Callable[..., Conditions]
Evaluate = Callable[..., PreflightResult]

EU_BATCH = [
    AccountRequest("acct-1", Tier.STANDARD, "eu-default"),
    AccountRequest("acct-2", Tier.STANDARD, "eu-default"),
    AccountRequest("acct-3", Tier.BUDGET, "budget-eu"),
]
# acct-1 and acct-2: 2 x (hetzner 9 + vultr 12); acct-3: contabo 5 + hetzner 4.5.
EU_BATCH_COST_EUR = Decimal("51.5")


@pytest.fixture
def evaluate(
    catalogue: Catalogue,
    pairs: dict[str, PairConfig],
    prices: PriceTable,
    make_conditions: BuildConditions,
) -> Evaluate:
    def run(
        accounts: list[AccountRequest] = EU_BATCH,
        *,
        approved_count: int = 3,
        approved_cost_eur: Decimal = Decimal(100),
        **arguments: Any,
    ) -> PreflightResult:
        figures = arguments.pop("figures", None)
        return evaluate_preflight(
            accounts,
            make_conditions(figures, **arguments),
            catalogue,
            pairs,
            prices,
            approved_count=approved_count,
            approved_cost_eur=approved_cost_eur,
        )

    return run


def test_healthy_batch_is_accepted(evaluate: Evaluate) -> None:
    result = evaluate()

    assert result.accepted
    assert result.reasons == []
    assert result.estimated_cost_eur == EU_BATCH_COST_EUR
    assert list(result.plans) == ["acct-1", "acct-2", "acct-3"]
    assert all(plan.ok for plan in result.plans.values())


def test_batch_at_exact_approval_is_accepted(evaluate: Evaluate) -> None:
    result = evaluate(approved_count=3, approved_cost_eur=EU_BATCH_COST_EUR)

    assert result.accepted


@pytest.mark.parametrize(
    ("arguments", "prefix", "fragment"),
    [
        ({"figures": {H: {"health_score": 74}}}, "provider health", "74 is below 75"),
        (
            {"figures": {V: {"success_rate_percent": 94.9}}},
            "provider health",
            "94.9% is below 95.0%",
        ),
        ({"unreadable": [C]}, "region availability", "unreadable"),
        (
            {"region_incidents": {H: ["fsn1", "nbg1", "hel1", "ash", "hil", "sin"]}},
            "region availability",
            "no other hetzner region fits",
        ),
        (
            {"figures": {H: {"quota_limit": 10, "quota_used": 8}}},
            "quota headroom",
            "needs 3 hetzner instances but only 2 are free",
        ),
        ({"approved_count": 2}, "operator authorization", "3 accounts"),
        (
            {"approved_cost_eur": Decimal("51.49")},
            "operator authorization",
            "51.50 EUR exceeds the approved 51.49 EUR",
        ),
    ],
    ids=[
        "provider-score-below-75",
        "provider-success-below-95",
        "unreadable-feed",
        "no-region-left",
        "quota-counts-primaries-and-standbys",
        "count-over-approval",
        "cost-over-approval",
    ],
)
def test_batch_refused_with_reason(
    evaluate: Evaluate, arguments: dict[str, Any], prefix: str, fragment: str
) -> None:
    result = evaluate(**arguments)

    assert not result.accepted
    assert result.reasons
    assert all(reason.startswith(prefix) for reason in result.reasons)
    assert fragment in result.reasons[0]


def test_provider_incident_switch_accepts_batch(evaluate: Evaluate) -> None:
    result = evaluate(figures={H: {"health_score": 60}}, provider_incidents=[H])

    assert result.accepted, result.reasons
    plan = result.plans["acct-1"]
    assert plan.primary is not None
    assert plan.primary.provider not in (H, V)
    assert any("switched" in note for note in plan.notes)


def test_every_reason_reported_at_once(evaluate: Evaluate) -> None:
    result = evaluate(
        figures={H: {"health_score": 74}, V: {"quota_limit": 1}},
        unreadable=[C],
        approved_count=1,
        approved_cost_eur=Decimal(1),
    )

    prefixes = [reason.split(":")[0] for reason in result.reasons]
    assert not result.accepted
    assert prefixes == [
        "provider health",
        "provider health",
        "region availability",
        "quota headroom",
        "operator authorization",
        "operator authorization",
    ]


def test_same_problem_names_every_account(evaluate: Evaluate) -> None:
    result = evaluate(figures={V: {"health_score": 50}})

    expected = (
        "provider health: accounts acct-1, acct-2: standby vultr/ams: "
        "vultr health score 50 is below 75"
    )
    assert result.reasons == [expected]


def test_quota_fits_exactly(evaluate: Evaluate) -> None:
    result = evaluate(figures={H: {"quota_limit": 10, "quota_used": 7}})

    assert result.accepted


def test_quota_counts_switched_provider(evaluate: Evaluate) -> None:
    result = evaluate(
        figures={H: {"health_score": 60}, D: {"quota_limit": 1}},
        provider_incidents=[H],
    )

    # Both eu-default primaries switch to DigitalOcean. The budget-eu standby
    # switches to Vultr, which ties with DigitalOcean and comes first in the catalogue.
    expected = (
        "quota headroom: the batch needs 2 digitalocean instances but only 1 are "
        "free (limit 1, used 0)"
    )
    assert not result.accepted
    assert result.reasons == [expected]
    standby = result.plans["acct-3"].standby
    assert standby is not None
    assert standby.provider == V


def test_cost_uses_planned_providers(evaluate: Evaluate) -> None:
    accounts = [AccountRequest("acct-1", Tier.ENTERPRISE, "eu-default")]

    result = evaluate(
        accounts, figures={H: {"health_score": 60}}, provider_incidents=[H]
    )

    # Primary switched to DigitalOcean (40) and the enterprise standby moved within
    # Vultr (40).
    assert result.estimated_cost_eur == Decimal(80)


@pytest.mark.parametrize(
    ("accounts", "fragment"),
    [
        (
            [AccountRequest("acct-1", Tier.BUDGET, "eu-default")] * 2,
            "account acct-1 is listed 2 times",
        ),
        (
            [AccountRequest("acct-1", Tier.BUDGET, "asia")],
            "unknown pair 'asia'",
        ),
    ],
    ids=["duplicate-account", "unknown-pair"],
)
def test_invalid_request_refused(
    evaluate: Evaluate, accounts: list[AccountRequest], fragment: str
) -> None:
    result = evaluate(accounts)

    assert not result.accepted
    assert result.reasons[0].startswith("request: ")
    assert fragment in result.reasons[0]
